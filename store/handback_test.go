package store_test

import (
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// An agent that stops hands its attempt back (a finish with status lost):
// the attempt ends lost with that reason, and the job is queued again for a
// new attempt however often it happens, using up none of its retries (the
// sweeper's policy allows none here). A job whose cancel was asked for ends
// canceled instead.
func TestHandedBackAttemptRunsAgainWithoutUsingARetry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		c := withClock(s)
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		r := mustRun(t, s, p.ID, "ci", []string{"build", "test"}, job("compile", "build"), job("unit", "test", "compile"))
		for n := 1; n <= 3; n++ {
			as := mustClaim(t, s, a)
			if as.Attempt != n {
				t.Fatalf("claim %d got attempt %d", n, as.Attempt)
			}
			finish(t, s, a, as, lathe.StatusLost)
			mustSweep(t, s, store.SweepPolicy{})
			j := mustJob(t, s, as.JobID)
			if j.Status != lathe.StatusQueued || j.Attempts[n-1].Status != lathe.StatusLost || j.Attempts[n-1].EndReason != store.ReasonHandedBack {
				t.Fatalf("after hand-back %d: job %s, attempt %s (%q); want queued, lost (handed back)",
					n, j.Status, j.Attempts[n-1].Status, j.Attempts[n-1].EndReason)
			}
		}
		// The hand-backs used none of the one infrastructure retry a lost
		// attempt gets: the lease of attempt 4 expires and the job runs again.
		mustClaim(t, s, a)
		c.Advance(store.DefaultLeaseTTL + time.Second)
		if res := mustSweep(t, s, store.SweepPolicy{InfraRetries: 1}); res.Lost != 1 || res.Retried != 1 {
			t.Fatalf("sweep after the hand-backs: %+v; want 1 lost and retried", res)
		}
		as := mustClaim(t, s, a)
		if as.Attempt != 5 {
			t.Fatalf("claim after the lost attempt got attempt %d, want 5", as.Attempt)
		}
		finish(t, s, a, as, lathe.StatusSuccess)
		wantJobs(t, mustGetRun(t, s, r.ID), map[string]lathe.Status{"compile": lathe.StatusSuccess, "unit": lathe.StatusQueued})

		as = mustClaim(t, s, a)
		if err := s.CancelJob(t.Context(), as.JobID); err != nil {
			t.Fatal(err)
		}
		finish(t, s, a, as, lathe.StatusLost)
		if j := mustJob(t, s, as.JobID); j.Status != lathe.StatusCanceled {
			t.Errorf("a canceled job handed back: %s, want canceled", j.Status)
		}
	})
}

// A server starting again loses, at once, the attempts its embedded agents
// (known by name) were running, and queues their jobs again without using
// up a retry; other agents' attempts are untouched.
func TestLoseAttemptsOfAgentRequeuesWithoutUsingARetry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		mine, other := mustAgent(t, s, "embedded-1"), mustAgent(t, s, "remote")
		mustRun(t, s, p.ID, "ci", []string{"build"}, job("a", "build"), job("b", "build"))
		lost, kept := mustClaim(t, s, mine), mustClaim(t, s, other)
		n, err := s.LoseAttemptsOfAgent(t.Context(), "embedded-1")
		if err != nil || n != 1 {
			t.Fatalf("LoseAttemptsOfAgent = %d, %v; want 1", n, err)
		}
		j := mustJob(t, s, lost.JobID)
		if a := j.Attempts[0]; j.Status != lathe.StatusQueued || a.Status != lathe.StatusLost || a.EndReason != store.ReasonRestarted || a.LogComplete {
			t.Errorf("job %s, attempt %s (%q, log complete %v); want queued, lost (restarted), log incomplete", j.Status, a.Status, a.EndReason, a.LogComplete)
		}
		if j := mustJob(t, s, kept.JobID); j.Status != lathe.StatusRunning {
			t.Errorf("another agent's job: %s, want running", j.Status)
		}
		if again := mustClaim(t, s, mine); again.JobID != lost.JobID || again.Attempt != 2 {
			t.Errorf("next claim: job %d attempt %d; want job %d attempt 2", again.JobID, again.Attempt, lost.JobID)
		}
	})
}
