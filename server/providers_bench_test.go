package server_test

import (
	"net/http"
	"path/filepath"
	"sort"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/enginetest"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/store"
)

// BenchmarkProviderQueuedToClaimed runs one job at a time on a one-shot
// process provider (every job waits for a fresh `lathe agent`) and reports
// the p50 of job queued → agent started (the provider's start) → job
// claimed, beside a floor measured in the same run: the same jobs on a
// warm agent of a min: 1 group (queued → claimed with no start).
func BenchmarkProviderQueuedToClaimed(b *testing.B) {
	bin := lathetest.Binary(b)
	l := lathetest.Start(b, lathetest.Options{Agents: -1, ProviderBinary: bin, ProvisionInterval: time.Second})
	queuedToClaimed(b, l, map[string]any{"kind": "process"})
}

// queuedToClaimed is BenchmarkProviderQueuedToClaimed for providers of
// kind (and their other fields): a cold one-shot group and a warm one.
func queuedToClaimed(b *testing.B, l *lathetest.Lathe, kind map[string]any) {
	provider := func(fields map[string]any) map[string]any {
		for k, v := range kind {
			fields[k] = v
		}
		return fields
	}
	l.Do(b, http.MethodPost, "/api/v1/agent-groups", map[string]any{"name": "cold",
		"provider": provider(map[string]any{"labels": []string{"cold"}, "max": 1, "idle_timeout_sec": 60, "one_shot": true})}, nil)
	l.Do(b, http.MethodPost, "/api/v1/agent-groups", map[string]any{"name": "warm",
		"provider": provider(map[string]any{"labels": []string{"warm"}, "min": 1, "max": 1, "idle_timeout_sec": 600})}, nil)
	l.Project(b, "cold", lathetest.Repo(b, map[string]string{".lathe.yml": "jobs:\n  j:\n    runs-on: [cold]\n    steps: [echo cold]\n"}))
	l.Project(b, "warm", lathetest.Repo(b, map[string]string{".lathe.yml": "jobs:\n  j:\n    runs-on: [warm]\n    steps: [echo warm]\n"}))
	claimed := func(project string) (queued, claim time.Time) {
		r := l.Wait(b, l.Trigger(b, project, "", "").ID, 60*time.Second)
		if r.Status != lathe.StatusSuccess {
			b.Fatalf("%s run %s", project, r.Status)
		}
		job := l.Job(b, lathetest.JobByName(b, r, "j").ID)
		return job.CreatedAt, job.Attempts[0].CreatedAt
	}
	var toStart, toClaim, total, floor []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q, c := claimed("cold")
		page, err := l.Server.Store.AuditEvents(b.Context(), store.AuditFilter{Limit: 50})
		if err != nil {
			b.Fatal(err)
		}
		var started time.Time
		for _, e := range page.Items {
			at, err := time.Parse(time.RFC3339Nano, e.At)
			if err != nil {
				b.Fatalf("audit event time %q: %v", e.At, err)
			}
			if e.Action == "agent_instance.start" && e.Details["group"] == "cold" && !at.Before(q) {
				started = at // newest first: the last one kept is the first after q
			}
		}
		toStart, toClaim, total = append(toStart, started.Sub(q)), append(toClaim, c.Sub(started)), append(total, c.Sub(q))
		wq, wc := claimed("warm")
		floor = append(floor, wc.Sub(wq))
	}
	b.StopTimer()
	p50 := func(ds []time.Duration) float64 {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return float64(ds[len(ds)/2].Microseconds()) / 1000
	}
	b.ReportMetric(p50(toStart), "p50-queued-to-started-ms")
	b.ReportMetric(p50(toClaim), "p50-started-to-claimed-ms")
	b.ReportMetric(p50(total), "p50-queued-to-claimed-ms")
	b.ReportMetric(p50(floor), "p50-warm-floor-ms")
	b.ReportMetric(p50(total)/max(p50(floor), 0.001), "cold/warm")
	// Stop the warm agent before the server goes: the group's min keeps it otherwise.
	l.Stop()
}

// BenchmarkContainerProviderQueuedToClaimed is the same with the
// container provider: every cold job waits for a fresh agent container.
func BenchmarkContainerProviderQueuedToClaimed(b *testing.B) {
	e := enginetest.Engine(b)
	bin := lathetest.Binary(b)
	image := enginetest.AgentImage(b, e, bin)
	// The test's temporary directories (the repositories among them) share a parent.
	repos := filepath.Dir(b.TempDir())
	l := lathetest.Start(b, lathetest.Options{Agents: -1, ProviderBinary: bin, ProvisionInterval: time.Second,
		Executor: executor.Options{ContainerHost: e.Host}, ProviderContainerBinds: []string{repos + ":" + repos + ":ro"}})
	queuedToClaimed(b, l, map[string]any{"kind": "container", "image": image})
}
