package trigger_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/trigger"
)

// benchProjects is how many projects the schedule loop looks after.
const benchProjects = 20

// BenchmarkScheduleTick measures one tick of the schedule loop when no
// head moved and nothing is due (the common tick), beside its floor: one
// `git ls-remote` of one local repository, which the loop used to run for
// every project at every tick. "old-tick-ms" is that floor times the
// projects; "ratio" is the new tick over it.
func BenchmarkScheduleTick(b *testing.B) {
	ctx := b.Context()
	dir := b.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "lathe.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	tr := &trigger.Service{Store: st, Mirrors: &git.Mirrors{Dir: filepath.Join(dir, "git")}, Policy: git.Policy{DataDir: dir}}
	pipelineFile := "on:\n  schedule: [{cron: '0 3 * * *'}]\njobs:\n  n:\n    steps: [echo n]\n"
	var repo string
	for i := range benchProjects {
		repo = lathetest.Repo(b, map[string]string{".lathe.yml": pipelineFile})
		p := &lathe.Project{Name: fmt.Sprintf("p%d", i), URL: repo, DefaultBranch: "main", URLByAdmin: true}
		if err := st.CreateProject(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	tick := func() {
		if err := tr.PollNewHeads(ctx); err != nil {
			b.Fatal(err)
		}
		if err := tr.ReadSchedules(ctx, now); err != nil {
			b.Fatal(err)
		}
		if n, err := tr.FireSchedules(ctx, now); err != nil || n != 0 {
			b.Fatalf("fired %d: %v", n, err)
		}
	}
	tick() // the first tick tracks every default branch and reads its schedules
	if scs, err := st.Schedules(ctx, 1); err != nil || len(scs) != 1 {
		b.Fatalf("schedules of project 1 = %v, %v", scs, err)
	}
	mirror := (&git.Mirrors{Dir: filepath.Join(dir, "floor")}).For(repo)
	floor := func() {
		if _, err := mirror.Heads(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
	floor()

	var tickTime, floorTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		tick()
		t1 := time.Now()
		floor()
		tickTime += t1.Sub(t0)
		floorTime += time.Since(t1)
	}
	n := float64(b.N)
	old := float64(floorTime.Microseconds()) / n * benchProjects
	b.ReportMetric(float64(tickTime.Microseconds())/n/1000, "tick-ms")
	b.ReportMetric(float64(floorTime.Microseconds())/n/1000, "ls-remote-ms")
	b.ReportMetric(old/1000, "old-tick-ms")
	b.ReportMetric(float64(tickTime.Microseconds())/n/old, "ratio")
}
