package pipeline

import "testing"

func TestToolStep(t *testing.T) {
	p := mustParse(t, ".lathe.yml", "jobs:\n  a:\n    steps:\n      - uses: greet@1.0\n        with: {who: world, times: 2, loud: true}\n")
	a := p.Jobs[0].Steps[0].Action
	if a == nil || a.Kind != ActionTool || a.Tool != "greet@1.0" || a.With["who"] != "world" || a.With["times"] != "2" || a.With["loud"] != "true" {
		t.Fatalf("action %+v", a)
	}
	if p.Jobs[0].Steps[0].Name != "tool greet@1.0" {
		t.Errorf("name %q", p.Jobs[0].Steps[0].Name)
	}
}

func TestToolStepErrors(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "no version",
		src:  "jobs:\n  a:\n    steps:\n      - uses: greet\n",
		want: []wantErr{{line: 4, col: 15, field: "jobs.a.steps[0].uses", msg: `"greet": write the tool as NAME@VERSION`}},
	}, {
		name: "with without uses",
		src:  "jobs:\n  a:\n    steps:\n      - run: make\n        with: {a: b}\n",
		want: []wantErr{{line: 5, col: 15, field: "jobs.a.steps[0].with", msg: "only a tool step (`uses: NAME@VERSION`) takes `with:` parameters"}},
	}, {
		name: "with a list value",
		src:  "jobs:\n  a:\n    steps:\n      - uses: greet@1\n        with: {who: [a]}\n",
		want: []wantErr{{line: 5, col: 21, field: "jobs.a.steps[0].with.who", msg: "must be a string, number or boolean, not a list"}},
	}, {
		name: "uses and run",
		src:  "jobs:\n  a:\n    steps:\n      - run: make\n        uses: greet@1\n",
		want: []wantErr{{line: 5, col: 9, field: "jobs.a.steps[0].uses", msg: "a step does one thing: a `run` command, one action (checkout, upload, download) or one tool (`uses`); split it into two steps"}},
	}})
}
