package pipeline

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseFileErrorsAliases(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "error inside an aliased job is reported for each use",
		src:  "jobs:\n  a: &a\n    steps: [x]\n    timeout: nope\n  b: *a\n",
		want: []wantErr{
			{line: 4, col: 14, field: "jobs.a.timeout", msg: "must be a duration"},
			{line: 4, col: 14, field: "jobs.b.timeout", msg: "must be a duration"},
		},
	}, {
		name: "map that merges itself",
		src:  "jobs:\n  a: &a\n    <<: *a\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 9, field: "jobs.a", msg: "merge key (<<) refers back to the map it is in"}},
	}, {
		name: "merge of a string",
		src:  "jobs:\n  a:\n    <<: [plain]\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 10, field: "jobs.a", msg: "merge key (<<) must refer to a map or a list of maps, not a string"}},
	}, {
		name: "alias to its own map",
		src:  "env: &e {A: *e}\njobs: {a: {steps: [x]}}\n",
		want: []wantErr{{line: 1, col: 6, field: "env.A", msg: "must be a single value"}},
	}, {
		name: "duplicate key inside a merged map",
		src:  "jobs:\n  a:\n    <<: {env: {}, env: {}}\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 19, field: "jobs.a.env", msg: `duplicate key "env"`}},
	}})
}

func TestParseFileAliasBomb(t *testing.T) {
	// Each level merges the previous one ten times: 10^9 values from a few
	// hundred bytes, unless the walk is bounded.
	var b strings.Builder
	b.WriteString("defs:\n  - &e0 {A: 1}\n")
	for i := 1; i <= 9; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*e%d, ", i-1), 10), ", ")
		fmt.Fprintf(&b, "  - &e%d {<<: [%s]}\n", i, refs)
	}
	b.WriteString("jobs:\n  a:\n    steps: [x]\n    env: *e9\n")
	start := time.Now()
	_, err := ParseFile(".lathe.yml", []byte(b.String()))
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %v", elapsed)
	}
	// The budget runs out while visiting e0's key, on line 2.
	checkErrors(t, err, ".lathe.yml", []wantErr{
		{line: 1, col: 1, field: "defs", msg: `unknown key "defs"`},
		{line: 2, col: 10, msg: "pipeline expands to more than 100000 values"},
	})
}

func TestParseFileWideAliases(t *testing.T) {
	// Linear, not exponential, but still far more values than the file
	// shows: 200 jobs sharing one list of 1000 steps.
	var b strings.Builder
	b.WriteString("jobs:\n  j0: &j\n    steps: [")
	b.WriteString(strings.TrimSuffix(strings.Repeat("x, ", 1000), ", "))
	b.WriteString("]\n")
	for i := 1; i < 200; i++ {
		fmt.Fprintf(&b, "  j%d: *j\n", i)
	}
	_, err := ParseFile(".lathe.yml", []byte(b.String()))
	// The budget runs out inside the shared steps list on line 3.
	checkErrors(t, err, ".lathe.yml", []wantErr{{line: 3, col: 3007, msg: "pipeline expands to more than 100000 values"}})
}
