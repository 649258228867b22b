package store_test

import (
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// Claims follow the queue: first come first served across pipelines, a
// promoted run ahead of the other unfinished runs of its pipeline, and a
// re-run at the back like any new run.
func TestClaimsFollowTheQueueAndPromote(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		x := mustRun(t, s, p.ID, "ci", []string{"build"}, job("j", "build"))
		finish(t, s, a, mustClaim(t, s, a), lathe.StatusFailed)
		y := mustRun(t, s, p.ID, "ci", []string{"build"}, job("j", "build"))
		z := mustRun(t, s, p.ID, "ci", []string{"build"}, job("j", "build"))
		w := mustRun(t, s, p.ID, "deploy", []string{"build"}, job("j", "build"))
		x2, err := s.RerunFailed(ctx, x.ID, "tester")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PromoteRun(ctx, z.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.PromoteRun(ctx, z.ID); err != nil { // at the front already
			t.Fatal(err)
		}
		names := map[int64]string{y.ID: "y", z.ID: "z (promoted)", w.ID: "w (deploy)", x2.ID: "x2 (re-run)"}
		var order []string
		for range 4 {
			as := mustClaim(t, s, a)
			order = append(order, names[as.RunID])
			finish(t, s, a, as, lathe.StatusSuccess)
		}
		want := []string{"z (promoted)", "y", "w (deploy)", "x2 (re-run)"}
		if len(order) != len(want) || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] || order[3] != want[3] {
			t.Errorf("claim order %v; want %v", order, want)
		}
		wantErr(t, "promote a finished run", s.PromoteRun(ctx, y.ID), lathe.ErrConflict)
		wantErr(t, "promote a run that does not exist", s.PromoteRun(ctx, 999999), lathe.ErrNotFound)
	})
}

// A pipeline numbered per branch numbers each branch's runs from 1 (and
// their re-runs too); runs on no branch and pull requests take the
// pipeline's sequence; a sequence is read and set, only forward.
func TestSequencesPerBranch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		create := func(branch, ref string, pr int64) *lathe.Run {
			t.Helper()
			r := &lathe.Run{ProjectID: p.ID, Pipeline: "ci", Branch: branch, Ref: ref, PullRequest: pr,
				Commit: "0123456789abcdef0123456789abcdef01234567", Event: "push"}
			if err := s.CreateRun(ctx, store.NewRun{Run: r, Stages: []string{"build"}, Jobs: []*lathe.Job{job("j", "build")},
				NumberPerBranch: true}); err != nil {
				t.Fatal(err)
			}
			return r
		}
		number := func(what string, r *lathe.Run, want int64) {
			t.Helper()
			if r.Number != want {
				t.Errorf("%s: number %d (as created); want %d", what, r.Number, want)
			}
			if got := mustGetRun(t, s, r.ID).Number; got != want {
				t.Errorf("%s: number %d (as read); want %d", what, got, want)
			}
		}
		main1 := create("main", "", 0)
		number("first run of main", main1, 1)
		number("first run of dev", create("dev", "", 0), 1)
		number("second run of main", create("main", "", 0), 2)
		number("a tag's run, on no branch", create("", "refs/tags/v1", 0), 4)
		number("a pull request's run", create("main", "refs/pull/5/head", 5), 5)

		finish(t, s, a, mustClaim(t, s, a), lathe.StatusFailed) // main1's job
		again, err := s.RerunFailed(ctx, main1.ID, "tester")
		if err != nil {
			t.Fatal(err)
		}
		number("re-run of main's first run", again, 3)

		seq, err := s.Sequence(ctx, p.ID, "ci", "dev")
		if err != nil || seq.Next != 2 {
			t.Errorf("sequence of dev = %+v, %v; want next 2", seq, err)
		}
		if seq, err := s.Sequence(ctx, p.ID, "ci", ""); err != nil || seq.Next != 7 {
			t.Errorf("the pipeline's sequence = %+v, %v; want next 7", seq, err)
		}
		_, err = s.SetSequence(ctx, p.ID, "ci", "main", 3)
		wantErr(t, "set main's next to 3, a number given", err, lathe.ErrConflict)
		_, err = s.SetSequence(ctx, p.ID, "ci", "main", 0)
		wantErr(t, "set next to 0", err, lathe.ErrInvalid)
		if _, err := s.SetSequence(ctx, p.ID, "ci", "main", 4); err != nil { // the next one already: allowed, changes nothing
			t.Fatal(err)
		}
		if _, err := s.SetSequence(ctx, p.ID, "ci", "main", 40); err != nil {
			t.Fatal(err)
		}
		number("run of main after next 40", create("main", "", 0), 40)
		if _, err := s.SetSequence(ctx, p.ID, "ci", "feature", 7); err != nil { // a branch with no run yet
			t.Fatal(err)
		}
		number("first run of feature after next 7", create("feature", "", 0), 7)
		if seq, err := s.Sequence(ctx, p.ID, "never-ran", ""); err != nil || seq.Next != 1 {
			t.Errorf("sequence of a pipeline with no run = %+v, %v; want next 1", seq, err)
		}
	})
}
