package store_test

import (
	"errors"
	"sync"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// Writers of one run meet all the time: a user cancels while an agent claims
// or finishes. Whatever the interleaving, each call either succeeds or gives
// its documented refusal, never a database error, and the run ends canceled.

func TestCancelRunRacingAClaim(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		for round := range 100 {
			r := mustRun(t, s, p.ID, "ci", []string{"build", "test"}, job("compile", "build"), job("unit", "test", "compile"))
			var as *lathe.Assignment
			var claimErr, cancelErr error
			together(
				func() { as, claimErr = s.Claim(ctx, a.ID, nil) },
				func() { cancelErr = s.CancelRun(ctx, r.ID) },
			)
			if claimErr != nil || cancelErr != nil {
				t.Fatalf("round %d: claim: %v; cancel: %v", round, claimErr, cancelErr)
			}
			if as != nil { // the claim came first: the agent is told to stop
				reply := mustReport(t, s, a, as.AttemptID, &lathe.Report{})
				if !reply.Cancel {
					t.Fatalf("round %d: claimed before the cancel, but the agent is not told to stop", round)
				}
				finish(t, s, a, as, lathe.StatusCanceled)
			}
			if got := mustGetRun(t, s, r.ID); got.Status != lathe.StatusCanceled {
				t.Fatalf("round %d: run %s (jobs %v), want canceled", round, got.Status, jobStatuses(got))
			}
		}
	})
}

func TestCancelRacingTheFinishingReport(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel func(s *store.Store, as *lathe.Assignment) error
	}{
		{"CancelRun", func(s *store.Store, as *lathe.Assignment) error { return s.CancelRun(t.Context(), as.RunID) }},
		{"CancelJob", func(s *store.Store, as *lathe.Assignment) error { return s.CancelJob(t.Context(), as.JobID) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, s *store.Store) {
				p := mustProject(t, s, "web")
				a := mustAgent(t, s, "a1")
				for round := range 100 {
					r := mustRun(t, s, p.ID, "ci", []string{"build", "test"}, job("compile", "build"), job("unit", "test", "compile"))
					as := mustClaim(t, s, a)
					var reply lathe.ReportReply
					var reportErr, cancelErr error
					together(
						func() {
							reply, reportErr = s.Report(t.Context(), a.ID, as.AttemptID, &lathe.Report{
								LogOffset: 0, Log: []byte("bye\n"), Finish: &lathe.FinishReport{Status: lathe.StatusFailed, LogSize: 4}})
						},
						func() { cancelErr = tc.cancel(s, as) },
					)
					if reportErr != nil || !reply.Finished {
						t.Fatalf("round %d: finishing report: %+v, %v", round, reply, reportErr)
					}
					// Too late to cancel is a conflict; anything else is a fault.
					if cancelErr != nil && !errors.Is(cancelErr, lathe.ErrConflict) {
						t.Fatalf("round %d: %s: %v", round, tc.name, cancelErr)
					}
					got := mustGetRun(t, s, r.ID)
					if !got.Status.Terminal() {
						t.Fatalf("round %d: run %s (jobs %v), want it over", round, got.Status, jobStatuses(got))
					}
				}
			})
		})
	}
}

// together runs the functions at the same instant and waits for all of them.
func together(fns ...func()) {
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for _, f := range fns {
		wg.Go(func() {
			<-gate
			f()
		})
	}
	close(gate)
	wg.Wait()
}
