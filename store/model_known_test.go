package store_test

import "testing"

// modelKnownCases are the minimal cases that broke an invariant, found by
// the model-based test and shrunk by it: of the invariants still known to be
// broken (modelKnownBroken), and of fixed ones, kept as regressions.
var modelKnownCases = map[string]modelCase{
	// j1 needs j0. Cancel j1 while it is pending, then re-run it: it is
	// queued at once, though j0 has not run.
	"needs-before-start": {
		Pipeline: modelPipeline{Jobs: []modelJob{{Timeout: 1}, {Timeout: 1, Needs: []int{0}}}},
		Events: []modelEvent{
			{Kind: evCancelJob, Pick: 1}, // j1 of run 0 (pending)
			{Kind: evRerunJob, Pick: 0},  // j1 of run 0 (canceled)
		},
	},
	// An untrusted run and its re-run wait at the trust gate. Cancel j1 of
	// the re-run, approve the first run (so the commit), re-run j1: the
	// re-run lifts the trust gate of every job of its run but releases only
	// j1, and j0 waits for approval with no gate left to approve.
	"waiting-has-gate": {
		Pipeline: modelPipeline{Untrusted: true, Jobs: []modelJob{{Timeout: 1}, {Timeout: 1}}},
		Events: []modelEvent{
			{Kind: evRerunRun, Pick: 0},   // run 0, still waiting: makes run 1
			{Kind: evCancelJob, Pick: 3},  // j1 of run 1 (waiting)
			{Kind: evApproveRun, Pick: 0}, // run 0
			{Kind: evRerunJob, Pick: 0},   // j1 of run 1 (canceled)
		},
	},
}

// TestModelKnownBroken plays the case of each invariant listed as known to
// be broken and checks it still breaks (once a fix lands, it says which
// entry of modelKnownBroken to remove), and plays every other case, the
// cases of bugs the model test found and that were fixed, as regressions
// that must hold.
func TestModelKnownBroken(t *testing.T) {
	tmpl := sqliteTemplate(t)
	for inv, issue := range modelKnownBroken {
		if _, ok := modelKnownCases[inv]; !ok {
			t.Errorf("known-broken invariant %s (%s) has no case in modelKnownCases", inv, issue)
		}
	}
	for inv, c := range modelKnownCases {
		issue, broken := modelKnownBroken[inv]
		out, err := newSQLiteEnv(t, tmpl, true).play(t.Context(), c)
		switch {
		case err != nil:
			t.Errorf("%s: %v", inv, err)
		case !broken && out.violation != nil:
			t.Errorf("fixed invariant %s breaks again: %s: %s", inv, out.violation.invariant, out.violation.detail)
		case !broken:
		case out.violation == nil:
			t.Errorf("invariant %s holds now: remove it from modelKnownBroken (%s)", inv, issue)
		case out.violation.invariant != inv:
			t.Errorf("the case of %s breaks %s instead: %s", inv, out.violation.invariant, out.violation.detail)
		default:
			t.Logf("%s still broken (%s): %s", inv, issue, out.violation.detail)
		}
	}
}
