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
		name: "with an unknown reference",
		src:  "jobs:\n  a:\n    steps:\n      - uses: greet@1\n        with: {who: '{{ secrets.x }}'}\n",
		want: []wantErr{{line: 5, col: 21, field: "jobs.a.steps[0].with.who", msg: "only {{ params.NAME }}, {{ matrix.AXIS }} and {{ env.NAME }} may appear between {{ and }}"}},
	}, {
		name: "uses and run",
		src:  "jobs:\n  a:\n    steps:\n      - run: make\n        uses: greet@1\n",
		want: []wantErr{{line: 5, col: 9, field: "jobs.a.steps[0].uses", msg: "a step does one thing: a `run` command, one action (checkout, upload, download) or one tool (`uses`); split it into two steps"}},
	}})
}

// `with:` values are expanded in the plan like the rest of a job: the
// run's parameters, the expansion's matrix values, the job's environment.
func TestToolStepWithExpanded(t *testing.T) {
	p := mustParse(t, ".lathe.yml", `
parameters:
  target: {default: prod}
  count: {type: number, default: 2}
env: {REGION: eu}
jobs:
  deploy:
    matrix: {os: [linux, darwin]}
    steps:
      - uses: greet@1.0
        with:
          who: "{{ params.target }}-{{matrix.os}} in {{ env.REGION }}"
          times: "{{ params.count }}"
          missing: "[{{ params.nope }}]"
          plain: as written
`)
	plan, err := p.Plan(PlanInput{Params: map[string]string{"target": "staging"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range plan.Jobs {
		w := j.Steps[0].Action.With
		got = append(got, w["who"]+"|"+w["times"]+"|"+w["missing"]+"|"+w["plain"])
	}
	want := []string{"staging-linux in eu|2|[]|as written", "staging-darwin in eu|2|[]|as written"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("with values %q, want %q", got, want)
	}
	if w := p.Jobs[0].Steps[0].Action.With["who"]; w != "{{ params.target }}-{{matrix.os}} in {{ env.REGION }}" {
		t.Errorf("the parsed pipeline changed: %q", w)
	}
}
