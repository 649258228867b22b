package store_test

import (
	"context"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/notify"
	"github.com/lathe-ci/lathe/store"
)

// A queued job wakes only the waiting claims of agents that may run it:
// with two idle agents of different labels, a job for one wakes that one
// alone. Every path that queues a job (a new run, a retry, an approval, a
// re-run) wakes by the job's labels. Wake-ups are counted by the notifier.
func TestQueuedJobWakesOnlyClaimersWithItsLabels(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		n := notify.NewLocal()
		s.SetNotifier(n)
		p := mustProject(t, s, "web")
		linux := mustAgent(t, s, "l1", "linux")
		mustAgent(t, s, "m1", "macos")

		// wait registers both idle agents' claims and returns whether each
		// was woken by step, and how many waits the notifier woke.
		wait := func(step func()) (linuxWoken, macWoken bool, woken int64) {
			t.Helper()
			// The waits of the step before end with its context, soon
			// after: a wait joining one still pending would be counted too.
			for deadline := time.Now().Add(10 * time.Second); n.Pending() > 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			l := s.ClaimSignal(wctx, []string{"linux"})
			m := s.ClaimSignal(wctx, []string{"macos"})
			before := n.Woken()
			step()
			return closed(l), closed(m), n.Woken() - before
		}
		want := func(what string, l, m bool, woken int64) {
			t.Helper()
			if !l || m || woken != 1 {
				t.Errorf("%s: linux woken %v, macos woken %v, %d wake-ups; want the linux claim alone", what, l, m, woken)
			}
		}

		var r *lathe.Run
		build := job("build", "build")
		build.RunsOn = []string{"linux"}
		build.Retry = &lathe.Retry{Count: 1, On: []string{lathe.RetryOnFailure}}
		deploy := job("deploy", "build", "build")
		deploy.RunsOn = []string{"linux"}
		deploy.Approval = &lathe.Approval{From: []string{"ops"}}
		l, m, woken := wait(func() { r = mustRun(t, s, p.ID, "ci", []string{"build"}, build, deploy) })
		want("a new run", l, m, woken)

		as := mustClaim(t, s, linux)
		l, m, woken = wait(func() { finish(t, s, linux, as, lathe.StatusFailed) })
		want("a retry", l, m, woken)

		as = mustClaim(t, s, linux)
		finish(t, s, linux, as, lathe.StatusSuccess)
		l, m, woken = wait(func() {
			if err := s.ApproveJob(ctx, jobNamed(t, mustGetRun(t, s, r.ID), "deploy").ID, "ops"); err != nil {
				t.Fatal(err)
			}
		})
		want("an approval", l, m, woken)

		as = mustClaim(t, s, linux)
		finish(t, s, linux, as, lathe.StatusSuccess)
		l, m, woken = wait(func() {
			if _, err := s.RerunJob(ctx, jobNamed(t, mustGetRun(t, s, r.ID), "build").ID, "tester"); err != nil {
				t.Fatal(err)
			}
		})
		want("a re-run", l, m, woken)

		// A job with no labels wakes both, and so does a change of agents.
		l, m, woken = wait(func() { mustRun(t, s, p.ID, "any", []string{"build"}, job("lint", "build")) })
		if !l || !m || woken != 2 {
			t.Errorf("a job with no labels: linux woken %v, macos woken %v, %d wake-ups; want both", l, m, woken)
		}
	})
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
