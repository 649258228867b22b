package store_test

import (
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// Long-polls and streams wait on the store's signals; each must fire once the
// change it announces is committed, and stay quiet when nothing changed.
func TestSignalsFireOnTheChangesTheyAnnounce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")

		work := s.WorkSignal()
		r := mustRun(t, s, p.ID, "ci", []string{"build", "test"}, job("compile", "build"), job("unit", "test", "compile"))
		wantFired(t, "work signal after a run queued its first job", work, true)

		run := s.RunSignal(r.ID)
		as := mustClaim(t, s, a)
		wantFired(t, "run signal after a claim", run, true)

		logs := s.AttemptSignal(as.AttemptID)
		run = s.RunSignal(r.ID)
		mustReport(t, s, a, as.AttemptID, &lathe.Report{Log: []byte("abc")})
		wantFired(t, "attempt signal after the log grew", logs, true)
		wantFired(t, "run signal after a log report", run, false)

		logs = s.AttemptSignal(as.AttemptID)
		mustReport(t, s, a, as.AttemptID, &lathe.Report{Log: []byte("abc")})
		wantFired(t, "attempt signal after a resent chunk", logs, false)

		work, run = s.WorkSignal(), s.RunSignal(r.ID)
		finish(t, s, a, as, lathe.StatusSuccess)
		wantFired(t, "attempt signal after the finish", logs, true)
		wantFired(t, "run signal after the finish", run, true)
		wantFired(t, "work signal after the finish released unit", work, true)

		run = s.RunSignal(r.ID)
		if err := s.CancelRun(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		wantFired(t, "run signal after a cancel", run, true)
	})
}

func wantFired(t *testing.T, what string, ch <-chan struct{}, want bool) {
	t.Helper()
	select {
	case <-ch:
		if !want {
			t.Errorf("%s: fired, want quiet", what)
		}
	default:
		if want {
			t.Errorf("%s: quiet, want fired", what)
		}
	}
}
