package store_test

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/store"
)

// BenchmarkOneStepJob is the store's share of one one-step job as an agent
// drives it: authenticate and claim, authenticate and report a log chunk,
// authenticate and finish; runs of 100 jobs are created as the queue
// empties. With and without prepared statements, on each engine.
func BenchmarkOneStepJob(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		for _, prepared := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/prepared=%v", engine, prepared), func(b *testing.B) {
				s, err := store.Open(b.Context(), freshDatabase(b, engine))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				store.SetPrepare(s, prepared)
				benchJobs(b, s)
			})
		}
	}
}

func benchJobs(b *testing.B, s *store.Store) {
	ctx := b.Context()
	p := &lathe.Project{Name: "bench", URL: "https://example.com/bench.git", DefaultBranch: "main"}
	if err := s.CreateProject(ctx, p); err != nil {
		b.Fatal(err)
	}
	a := &lathe.Agent{Name: "a1", Labels: []string{"linux"}}
	if err := s.PutAgent(ctx, a, "hash-of-a1"); err != nil {
		b.Fatal(err)
	}
	jobs := make([]*lathe.Job, 100)
	for i := range jobs {
		jobs[i] = job(fmt.Sprintf("j%d", i), "build")
	}
	queued := 0
	b.ResetTimer()
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/job") }()
	for range b.N {
		if queued == 0 {
			r := &lathe.Run{ProjectID: p.ID, Pipeline: "ci", Branch: "main", Ref: "refs/heads/main",
				Commit: "0123456789abcdef0123456789abcdef01234567", Event: "push"}
			if err := s.CreateRun(ctx, store.NewRun{Run: r, Stages: []string{"build"}, Jobs: jobs}); err != nil {
				b.Fatal(err)
			}
			queued = len(jobs)
		}
		queued--
		ag, err := s.AgentByToken(ctx, "hash-of-a1")
		if err != nil {
			b.Fatal(err)
		}
		as, err := s.Claim(ctx, ag.ID, ag.Labels)
		if err != nil || as == nil {
			b.Fatalf("claim: %v %v", as, err)
		}
		if _, err := s.AgentByToken(ctx, "hash-of-a1"); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Report(ctx, ag.ID, as.AttemptID, &lathe.Report{Log: []byte("ok\n")}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.AgentByToken(ctx, "hash-of-a1"); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Report(ctx, ag.ID, as.AttemptID, &lathe.Report{LogOffset: 3, Finish: &lathe.FinishReport{Status: lathe.StatusSuccess}}); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the CPU this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// freshDatabase returns the DSN of a new, empty database of engine
// ("sqlite" or "postgres").
func freshDatabase(tb testing.TB, engine string) string {
	if engine == "postgres" {
		return pgtest.Shared(tb).NewDatabase(tb)
	}
	return filepath.Join(tb.TempDir(), "lathe.db")
}
