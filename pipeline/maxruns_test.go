package pipeline

import "testing"

func TestMaxRuns(t *testing.T) {
	if p := mustParse(t, ".lathe.yml", "max-runs: 2\njobs: {a: {steps: [x]}}\n"); p.MaxRuns != 2 {
		t.Errorf("MaxRuns = %d, want 2", p.MaxRuns)
	}
	if p := mustParse(t, ".lathe.yml", "jobs: {a: {steps: [x]}}\n"); p.MaxRuns != 0 {
		t.Errorf("MaxRuns without the key = %d, want 0 (no limit)", p.MaxRuns)
	}
	for _, src := range []string{"max-runs: 0\n", "max-runs: one\n", "max-runs: 1001\n", "max-runs: [1]\n"} {
		_, err := ParseFile(".lathe.yml", []byte(src+"jobs: {a: {steps: [x]}}\n"))
		checkErrors(t, err, ".lathe.yml", []wantErr{{line: 1, col: 11, field: "max-runs", msg: "whole number of runs from 1 to 1000"}})
	}
}
