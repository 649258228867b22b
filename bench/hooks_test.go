package main

import "testing"

// The hooks section in -quick mode: every signed push hook starts a run
// whose job is queued, and the floor is measured beside it. Targets are
// not checked.
func TestBenchmarkHooksQuick(t *testing.T) {
	res, _ := runQuick(t, "hooks", "(hooks)")
	h := res.Hooks
	if h == nil || h.Hooks != 20 || h.Lathe.N != 20 || h.Floor.N != 20 || h.Lathe.P50 <= 0 || h.Floor.P50 <= 0 {
		t.Errorf("hooks result: %+v", h)
	}
	if len(res.Errors) > 0 {
		t.Errorf("errors: %v", res.Errors)
	}
}
