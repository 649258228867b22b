package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/server"
)

// PostgreSQL stops for longer than the lease TTL while a job runs, then
// comes back. Meanwhile API writes answer 503 with Retry-After (not 500)
// and /readyz says the database is unreachable. Afterwards the job, whose
// agent kept trying to report, is not judged lost for the server's outage:
// every lease got a fresh TTL first, and the job ends success in its first
// attempt.
func TestDatabaseOutageLongerThanTheLeaseKillsNoJob(t *testing.T) {
	bin := lathetest.Binary(t)
	cluster := pgtest.Start(t)
	// The TTL exceeds the agent's longest wait between report retries (5 s):
	// a fresh lease must leave the agent time to be heard.
	const ttl = 6 * time.Second
	l := startLifecycle(t, lathetest.Options{DatabaseURL: cluster.NewDatabase(t)},
		server.Config{LeaseTTL: ttl, SweepInterval: 100 * time.Millisecond, InfraRetries: -1})
	l.Project(t, "drain", lathetest.Repo(t, map[string]string{".lathe.yml": handBackPipeline("outage")}))
	agentProcess(t, l, bin, l.RegistrationToken(t), "outage-1", "outage")
	jobID, ws := startedJob(t, l)

	if err := cluster.Pause(); err != nil {
		t.Fatal(err)
	}
	outage := time.Now()
	// A write: triggering a run.
	resp := post(t, l, "/api/v1/projects/drain/runs", `{}`)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("trigger during the outage: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, body := readyz(t, l); code != http.StatusServiceUnavailable || !strings.Contains(body, "database unreachable") {
		t.Errorf("/readyz during the outage: %d %s; want 503 saying the database is unreachable", code, body)
	} else if strings.Contains(body, "user=") || strings.Contains(body, "127.0.0.1") {
		t.Errorf("/readyz, which anyone may read, shows the database's user or address: %s", body)
	}
	// The outage lasts past the lease.
	time.Sleep(ttl + time.Second - time.Since(outage))
	if err := cluster.Resume(); err != nil {
		t.Fatal(err)
	}
	release(t, ws)
	var j *lathe.Job
	waitFor(t, 30*time.Second, "the job ends", func() bool {
		j = l.Job(t, jobID)
		return j.Status.Terminal()
	})
	if j.Status != lathe.StatusSuccess || len(j.Attempts) != 1 {
		t.Errorf("job after the outage: %s with %d attempts (first: %s %q); want success in its first attempt",
			j.Status, len(j.Attempts), j.Attempts[0].Status, j.Attempts[0].EndReason)
	}
	if !strings.Contains(l.Log(t, jobID), "attempt 1 done") {
		t.Errorf("log: %q", l.Log(t, jobID))
	}
}

// post sends body to path with the admin token and returns the response,
// its body read and closed.
func post(t *testing.T, l *lathetest.Lathe, path, body string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+l.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := lathetest.HTTPClient(t).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
