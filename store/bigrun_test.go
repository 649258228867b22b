package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// A run of more jobs than one statement writes or queues: every job gets
// its own ID, read back under its own name, the ones that wait for nothing
// are queued and the others wait; a run naming one job twice is refused by
// that name and leaves nothing behind.
func TestBigRunInsertsAndQueuesEveryJob(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "big")
		var jobs []*lathe.Job
		for i := range 140 {
			jobs = append(jobs, job(fmt.Sprintf("j%03d", i), "build"))
		}
		for i := range 10 {
			jobs = append(jobs, job(fmt.Sprintf("k%d", i), "build", "j000"))
		}
		r := mustRun(t, s, p.ID, "ci", []string{"build"}, jobs...)
		got, err := s.Run(t.Context(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Jobs) != len(jobs) {
			t.Fatalf("run has %d jobs; want %d", len(got.Jobs), len(jobs))
		}
		ids := map[string]int64{}
		for _, j := range jobs {
			ids[j.Name] = j.ID
		}
		seen := map[int64]bool{}
		for _, j := range got.Jobs {
			if j.ID == 0 || seen[j.ID] || ids[j.Name] != j.ID {
				t.Errorf("job %s read back with ID %d; created with %d", j.Name, j.ID, ids[j.Name])
			}
			seen[j.ID] = true
			want := lathe.StatusQueued
			if j.Name[0] == 'k' {
				want = lathe.StatusPending
			}
			if j.Status != want {
				t.Errorf("job %s is %s; want %s", j.Name, j.Status, want)
			}
		}

		twice := []*lathe.Job{job("a", "build"), job("b", "build"), job("a", "build")}
		err = s.CreateRun(t.Context(), store.NewRun{Run: &lathe.Run{ProjectID: p.ID, Pipeline: "ci", Branch: "main",
			Ref: "refs/heads/main", Commit: r.Commit, Event: "push"}, Stages: []string{"build"}, Jobs: twice})
		if !errors.Is(err, lathe.ErrInvalid) || !strings.Contains(err.Error(), `"a"`) {
			t.Fatalf("a run naming job a twice: %v; want invalid, naming a", err)
		}
		runs, err := s.Runs(t.Context(), store.RunFilter{ProjectID: p.ID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs.Items) != 1 {
			t.Errorf("%d runs stored; want only the first", len(runs.Items))
		}
	})
}
