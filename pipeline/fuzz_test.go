package pipeline

import (
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. Whatever the input, Parse must
// not panic and must return either valid pipelines or a sorted ErrorList
// whose every entry is located; valid pipelines must plan cleanly.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"~",
		"- a",
		"jobs: {a: {steps: [x]}}",
		"name: ci\nenv: {A: 1}\nstages: [build, test]\njobs:\n  b: {stage: build, runs-on: [l], timeout: 10m, steps: [make]}\n  t: {stage: test, needs: [b], env: {X: y}, steps: [{name: n, run: go test}]}\n",
		"jobs:\n  a: {needs: [b], steps: [x]}\n  b: {needs: [a], steps: [x]}\n",
		"jobs:\n  a: &a\n    steps: &s [x]\n  b:\n    <<: *a\n    steps: *s\n",
		"jobs:\n  a: &a\n    <<: *a\n",
		"env: &e {A: *e}\njobs: {a: {steps: [x]}}",
		"jobs: {a: {timeout: 99999999999999999999, steps: ['']}}",
		"jobs:\n  a: [1\n",
		"jobs: {a: {steps: [x]}}\n---\njobs: {}\n",
		"stages: [a, a, {}]\njobs: {x: {stage: b, steps: [- x]}}",
		"? [a]\n: b\n",
		"jobs:\n  a:\n    steps:\n      - echo a: b\n",
		// The keys of issue 4: matrix, conditions, parameters, triggers,
		// extends, job fields and actions.
		"on: {push: {branches: [main], tags: [\"v*\"]}, pull_request: {}, schedule: [{cron: \"0 3 * * *\"}], manual: {}, webhook: {}, pipeline: {after: [x]}}\njobs: {a: {steps: [x]}}",
		"on: [push, manual]\nparameters: {v: {type: choice, choices: [a, b], default: a}, n: {type: number}, b: {type: boolean, required: true}}\njobs: {a: {steps: [x], if: 'params.v == \"a\" && !params.b'}}",
		"when: {branches: [main], if: branch =~ \"release/*\"}\njobs: {a: {steps: [x], when: {events: [push], paths: [\"src/**\"], paths-ignore: [\"*.md\"]}}}",
		"jobs:\n  t:\n    matrix: {go: [\"1.22\", \"1.23\"], os: [linux, darwin], exclude: [{os: darwin}], include: [{os: win, go: \"1\"}]}\n    if: matrix.os != \"win\"\n    steps: [x]\n  u: {needs: [t], steps: [y]}\n",
		"templates: {base: {runs-on: x, env: {A: 1}, retry: 2}}\njobs:\n  a: {extends: base, steps: [x]}\n  b: {extends: [a], env: {B: 2}}\n",
		"jobs:\n  a: {extends: b, steps: [x]}\n  b: {extends: a, steps: [x]}\n",
		"jobs:\n  a:\n    steps: [{checkout: {depth: 1}}, {upload: {name: d, paths: [d]}}, {download: {name: d}}, x]\n    retry: {count: 2, on: [timeout]}\n    allow_failure: true\n    artifacts: {paths: [d], expire_in: 7d, when: always}\n    reports: {junit: [r.xml]}\n    environment: {name: prod, url: \"https://x\"}\n    approval: {from: [ops], message: ok}\n    secrets: [K]\n",
		"jobs: {a: {steps: [x], if: \"(((((a\"}}",
		"jobs: {a: {steps: [x], matrix: {a: [1,2,3,4,5,6,7,8,9,10], b: [1,2,3,4,5,6,7,8,9,10], c: [1,2,3,4,5,6,7,8,9,10,11]}}}",
	}
	for _, s := range seeds {
		f.Add(".lathe.yml", []byte(s))
	}
	f.Fuzz(func(t *testing.T, path string, data []byte) {
		pipelines, err := Parse([]File{{Path: path, Data: data}, {Path: path + ".2", Data: data}})
		if err != nil {
			checkFuzzErrors(t, err, pipelines)
			return
		}
		for _, p := range pipelines {
			checkFuzzPipeline(t, p)
		}
	})
}

// checkFuzzErrors asserts err is a non-empty, sorted, located ErrorList.
func checkFuzzErrors(t *testing.T, err error, pipelines []*Pipeline) {
	var list ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("error %v (%T) is not a non-empty ErrorList", err, err)
	}
	if pipelines != nil {
		t.Fatalf("pipelines returned alongside errors")
	}
	for i, e := range list {
		if e.Line < 1 || e.Column < 1 || e.Message == "" {
			t.Fatalf("error without a location or message: %q", e.Error())
		}
		if i > 0 {
			prev := list[i-1]
			if prev.File > e.File || prev.File == e.File && (prev.Line > e.Line || prev.Line == e.Line && prev.Column > e.Column) {
				t.Fatalf("errors out of order:\n%v", list)
			}
		}
	}
}

// checkFuzzPipeline asserts the invariants every valid pipeline holds.
func checkFuzzPipeline(t *testing.T, p *Pipeline) {
	if len(p.Jobs) == 0 || len(p.Stages) == 0 {
		t.Fatalf("valid pipeline without jobs or stages: %+v", p)
	}
	for _, j := range p.Jobs {
		if len(j.Steps) == 0 || j.Timeout <= 0 || j.Timeout > MaxTimeout || j.Deps == nil {
			t.Fatalf("invalid job in a valid pipeline: %+v", j)
		}
		for _, s := range j.Steps {
			if s.Run == "" && s.Action == nil {
				t.Fatalf("step without a command: %+v", j)
			}
		}
		for _, d := range j.Deps {
			if p.Job(d) == nil || d == j.Name {
				t.Fatalf("job %q depends on %q", j.Name, d)
			}
		}
	}
	for _, ev := range []Event{{Kind: EventPush, Branch: "main"}, {Kind: EventManual, Changed: []string{"a/b"}}} {
		plan, err := p.Plan(PlanInput{Event: ev})
		if err != nil {
			continue // a required parameter
		}
		if len(plan.Jobs)+len(plan.Skipped) > MaxPlanJobs {
			t.Fatalf("plan has %d jobs, over the limit", len(plan.Jobs)+len(plan.Skipped))
		}
		placedPlan := make(map[string]bool)
		for _, j := range plan.Jobs {
			for _, d := range j.Deps {
				if !placedPlan[d] {
					t.Fatalf("plan puts %q before its dependency %q", j.Name, d)
				}
			}
			placedPlan[j.Name] = true
		}
	}
	order := p.Order()
	if len(order) != len(p.Jobs) {
		t.Fatalf("Order() has %d jobs, want %d", len(order), len(p.Jobs))
	}
	placed := make(map[string]bool)
	for _, j := range order {
		for _, d := range j.Deps {
			if !placed[d] {
				t.Fatalf("Order() puts %q before its dependency %q", j.Name, d)
			}
		}
		placed[j.Name] = true
	}
}
