package pipeline

import "testing"

func TestAutoCancelAndNumbering(t *testing.T) {
	t.Parallel()
	p := mustParse(t, ".lathe.yml", "auto_cancel: true\nnumbering: per-branch\njobs: {a: {steps: [x]}}\n")
	if !p.AutoCancel || !p.NumberPerBranch {
		t.Errorf("AutoCancel %v, NumberPerBranch %v; want both true", p.AutoCancel, p.NumberPerBranch)
	}
	p = mustParse(t, ".lathe.yml", "auto_cancel: false\nnumbering: per-pipeline\njobs: {a: {steps: [x]}}\n")
	if p.AutoCancel || p.NumberPerBranch {
		t.Errorf("AutoCancel %v, NumberPerBranch %v; want both false", p.AutoCancel, p.NumberPerBranch)
	}
	if p := mustParse(t, ".lathe.yml", "jobs: {a: {steps: [x]}}\n"); p.AutoCancel || p.NumberPerBranch {
		t.Errorf("without the keys: AutoCancel %v, NumberPerBranch %v; want both false", p.AutoCancel, p.NumberPerBranch)
	}
	for _, tc := range []struct{ src, field, msg string }{
		{"auto_cancel: yes please\n", "auto_cancel", "must be true or false"},
		{"auto_cancel: 1\n", "auto_cancel", "must be true or false"},
		{"numbering: per-tag\n", "numbering", "must be per-pipeline (one sequence of run numbers, the default) or per-branch"},
		{"numbering: [per-branch]\n", "numbering", "must be per-pipeline"},
	} {
		_, err := ParseFile(".lathe.yml", []byte("name: ci\n"+tc.src+"jobs: {a: {steps: [x]}}\n"))
		col := len(tc.field) + 3
		checkErrors(t, err, ".lathe.yml", []wantErr{{line: 2, col: col, field: tc.field, msg: tc.msg}})
	}
}
