package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe"
)

// planSummary renders a plan as "name <- deps" lines and "skip name: reason"
// lines, which is what the table tests compare.
func planSummary(p *Plan) string {
	var lines []string
	for _, j := range p.Jobs {
		lines = append(lines, fmt.Sprintf("%s <- [%s]", j.Name, strings.Join(j.Deps, "; ")))
	}
	for _, s := range p.Skipped {
		lines = append(lines, fmt.Sprintf("skip %s: %s", s.Job, s.Reason))
	}
	return strings.Join(lines, "\n")
}

const planFile = `parameters:
  target: {type: choice, choices: [staging, production], default: staging}
  fast: {type: boolean}
stages: [build, test, deploy]
jobs:
  build:
    stage: build
    steps: [make]
  test:
    stage: test
    matrix:
      go: ["1.22", "1.23"]
      os: [linux, darwin]
      exclude: [{os: darwin, go: "1.22"}]
      include: [{os: windows, go: "1.23"}]
    if: matrix.os != "windows" || branch == "main"
    steps: [go test]
  docs:
    stage: test
    when: {paths: ["docs/**"], events: [push, pull_request]}
    steps: [make docs]
  lint:
    stage: test
    when: {paths-ignore: ["docs/**"]}
    steps: [lint]
  package:
    stage: deploy
    steps: [pack]
  deploy:
    stage: deploy
    needs: [test, docs]
    when: {branches: ["main", "release/*"], if: 'params.target == "production" && !params.fast'}
    steps: [deploy]
`

func TestPlan(t *testing.T) {
	p := mustParse(t, ".lathe.yml", planFile)
	tests := []struct {
		name string
		in   PlanInput
		want string
	}{{
		name: "push to main touching docs runs everything",
		in:   PlanInput{Event: Event{Kind: EventPush, Branch: "main", Changed: []string{"docs/a.md"}}, Params: map[string]string{"target": "production"}},
		want: `build <- []
test (go=1.22, os=linux) <- [build]
test (go=1.23, os=linux) <- [build]
test (go=1.23, os=darwin) <- [build]
test (go=1.23, os=windows) <- [build]
docs <- [build]
package <- [build; test (go=1.22, os=linux); test (go=1.23, os=linux); test (go=1.23, os=darwin); test (go=1.23, os=windows); docs]
deploy <- [test (go=1.22, os=linux); test (go=1.23, os=linux); test (go=1.23, os=darwin); test (go=1.23, os=windows); docs]
skip lint: when.paths-ignore: every changed file matches docs/**`,
	}, {
		name: "manual run on a feature branch with unknown changes",
		in:   PlanInput{Event: Event{Kind: EventManual, Branch: "feature/x"}},
		want: `build <- []
test (go=1.22, os=linux) <- [build]
test (go=1.23, os=linux) <- [build]
test (go=1.23, os=darwin) <- [build]
lint <- [build]
package <- [build; test (go=1.22, os=linux); test (go=1.23, os=linux); test (go=1.23, os=darwin); lint]
skip test (go=1.23, os=windows): if: matrix.os != "windows" || branch == "main" is false
skip docs: when.events: event "manual" is not one of push, pull_request
skip deploy: it needs docs, which is left out`,
	}, {
		name: "deploy condition on parameters",
		in:   PlanInput{Event: Event{Kind: EventPush, Branch: "release/1", Changed: []string{"docs/x", "src/y"}}, Params: map[string]string{"target": "production", "fast": "true"}},
		want: `build <- []
test (go=1.22, os=linux) <- [build]
test (go=1.23, os=linux) <- [build]
test (go=1.23, os=darwin) <- [build]
docs <- [build]
lint <- [build]
package <- [build; test (go=1.22, os=linux); test (go=1.23, os=linux); test (go=1.23, os=darwin); docs; lint]
skip test (go=1.23, os=windows): if: matrix.os != "windows" || branch == "main" is false
skip deploy: if: params.target == "production" && !params.fast is false`,
	}, {
		name: "tag event matches no branch glob",
		in:   PlanInput{Event: Event{Kind: EventTag, Tag: "v1"}, Params: map[string]string{"target": "production"}},
		want: `build <- []
test (go=1.22, os=linux) <- [build]
test (go=1.23, os=linux) <- [build]
test (go=1.23, os=darwin) <- [build]
lint <- [build]
package <- [build; test (go=1.22, os=linux); test (go=1.23, os=linux); test (go=1.23, os=darwin); lint]
skip test (go=1.23, os=windows): if: matrix.os != "windows" || branch == "main" is false
skip docs: when.events: event "tag" is not one of push, pull_request
skip deploy: it needs docs, which is left out`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := p.Plan(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := planSummary(plan); got != tt.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestPlanEnvPrecedence(t *testing.T) {
	p := mustParse(t, ".lathe.yml", `env: {A: pipeline, B: pipeline, PARAM_X: pipeline}
parameters:
  x: {default: param}
  dry-run: {type: boolean, default: true}
jobs:
  j:
    matrix: {os: [linux]}
    env: {B: job, MATRIX_OS: job}
    steps: ["echo $PARAM_X $PARAM_DRY_RUN"]
`)
	plan, err := p.Plan(PlanInput{Event: Event{Kind: EventManual}})
	if err != nil {
		t.Fatal(err)
	}
	want := []lathe.EnvVar{{Name: "A", Value: "pipeline"}, {Name: "B", Value: "job"}, {Name: "PARAM_X", Value: "param"},
		{Name: "PARAM_DRY_RUN", Value: "true"}, {Name: "MATRIX_OS", Value: "job"}}
	if got := plan.Jobs[0].Env; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("env = %v, want %v", got, want)
	}
	if plan.Jobs[0].Name != "j (os=linux)" || plan.Jobs[0].Base != "j" || fmt.Sprint(plan.Jobs[0].MatrixValues) != "[{os linux}]" {
		t.Errorf("job = %+v", plan.Jobs[0])
	}
	if p.Jobs[0].Name != "j" || p.Jobs[0].MatrixValues != nil {
		t.Errorf("Plan changed the pipeline's job: %+v", p.Jobs[0])
	}
}

func TestPlanPipelineWhen(t *testing.T) {
	p := mustParse(t, ".lathe.yml", "when: {branches: [main]}\njobs: {a: {steps: [x]}, b: {steps: [y]}}\n")
	plan, err := p.Plan(PlanInput{Event: Event{Kind: EventPush, Branch: "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "skip a: the pipeline's when.branches: branch \"dev\" matches none of main\nskip b: the pipeline's when.branches: branch \"dev\" matches none of main"
	if got := planSummary(plan); got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
}

func TestParamValues(t *testing.T) {
	p := mustParse(t, ".lathe.yml", `parameters:
  version: {required: true, description: Release version}
  count: {type: number, default: 3}
  debug: {type: boolean}
  target: {type: choice, choices: [staging, production]}
jobs: {a: {steps: ["echo $PARAM_VERSION $PARAM_COUNT $PARAM_DEBUG $PARAM_TARGET"]}}
`)
	vals, err := p.ParamValues(map[string]string{"version": "1.2", "count": "4.5", "debug": "yes"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join([]string{vals[0].Value.Text(), vals[1].Value.Text(), vals[2].Value.Text(), vals[3].Value.Text()}, " "); got != "1.2 4.5 true staging" {
		t.Errorf("values = %s", got)
	}
	_, err = p.ParamValues(map[string]string{"count": "many", "debug": "maybe", "target": "prod", "verison": "1"})
	var pe ParamErrors
	if !errors.As(err, &pe) || !errors.Is(err, lathe.ErrInvalid) {
		t.Fatalf("err = %v, want ParamErrors wrapping ErrInvalid", err)
	}
	want := `parameter "version": is required
parameter "count": "many" is not a number
parameter "debug": "maybe" is not true or false
parameter "target": "prod" is not one of staging, production
parameter "verison": is not declared by pipeline main (did you mean "version"?)`
	if err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
}

// A number parameter's value is the number as given, in plain decimal and
// exact to the last digit, in the job's env and in conditions alike; so is
// its default.
func TestNumberParamsKeepTheirDigits(t *testing.T) {
	p := mustParse(t, ".lathe.yml", `parameters:
  f: {type: number}
  big: {type: number, default: 12345678901234567890}
  sci: {type: number, default: 1e6}
jobs:
  million: {if: 'params.f == "1000000"', steps: [echo $PARAM_F $PARAM_BIG $PARAM_SCI]}
  numeric: {if: 'params.f == 1000000 && params.big == 12345678901234567890', steps: [x]}
`)
	for _, tt := range []struct {
		given, want string
		million     bool // whether params.f == "1000000" holds
	}{
		{"1000000", "1000000", true},
		{"123456789", "123456789", false},
		{"9007199254740993", "9007199254740993", false},
		{" 1000000\n", "1000000", true},
		{"1e6", "1000000", true},
		{"-2.50", "-2.50", false},
	} {
		t.Run(tt.given, func(t *testing.T) {
			plan, err := p.Plan(PlanInput{Event: Event{Kind: EventManual}, Params: map[string]string{"f": tt.given}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, pv := range plan.Params {
				got = append(got, pv.Name+"="+pv.Value.Text())
			}
			if want := "f=" + tt.want + " big=12345678901234567890 sci=1000000"; strings.Join(got, " ") != want {
				t.Errorf("params = %s, want %s", strings.Join(got, " "), want)
			}
			ran := map[string]bool{}
			for _, j := range plan.Jobs {
				ran[j.Name] = true
			}
			if ran["million"] != tt.million || ran["numeric"] != tt.million {
				t.Errorf("jobs planned: %v; want million and numeric: %v", ran, tt.million)
			}
			if j := plan.Jobs; tt.million && !slices.ContainsFunc(j[0].Env, func(v lathe.EnvVar) bool { return v.Name == "PARAM_F" && v.Value == "1000000" }) {
				t.Errorf("env of %s = %v; want PARAM_F=1000000", j[0].Name, j[0].Env)
			}
		})
	}
	for _, bad := range []string{"0x10", "1e5000", "Inf", "1,000"} {
		if _, err := p.ParamValues(map[string]string{"f": bad}); err == nil || !strings.Contains(err.Error(), "is not a number") {
			t.Errorf("f=%s: err = %v, want not a number", bad, err)
		}
	}
}

func TestExtends(t *testing.T) {
	p := mustParse(t, ".lathe.yml", `templates:
  base:
    runs-on: linux
    timeout: 5m
    env: {A: base, B: base}
  go:
    extends: base
    env: {B: go, C: go}
    retry: 2
jobs:
  build:
    extends: go
    env: {C: build}
    steps: [make]
  test:
    extends: [build]
    timeout: 9m
    needs: [build]
`)
	b, tst := p.Job("build"), p.Job("test")
	if fmt.Sprint(b.RunsOn, b.Timeout, b.Env, b.Retry.Count, b.Extends) != "[linux] 5m0s [{A base} {B go} {C build}] 2 [go]" {
		t.Errorf("build = %v %v %v %v %v", b.RunsOn, b.Timeout, b.Env, b.Retry.Count, b.Extends)
	}
	if fmt.Sprintf("%v %v %v %d %s %s %v", tst.RunsOn, tst.Timeout, tst.Env, len(tst.Steps), tst.Steps[0].Name, tst.Steps[0].Run, tst.Deps) !=
		"[linux] 9m0s [{A base} {B go} {C build}] 1 make make [build]" {
		t.Errorf("test = %v %v %v %+v %v", tst.RunsOn, tst.Timeout, tst.Env, tst.Steps, tst.Deps)
	}
	if len(p.Jobs) != 2 {
		t.Errorf("templates became jobs: %d jobs", len(p.Jobs))
	}
}

func TestTriggersMatch(t *testing.T) {
	p := mustParse(t, ".lathe.yml", `on:
  push: {branches: [main, "release/**"], tags: ["v*"]}
  pull_request: {branches: [main]}
  schedule: [{cron: "0 3 * * *"}, {cron: "@hourly", branch: dev}]
  pipeline: {after: [build]}
jobs: {a: {steps: [x]}}
`)
	tests := []struct {
		ev   Event
		want bool
	}{
		{Event{Kind: EventPush, Branch: "main"}, true},
		{Event{Kind: EventPush, Branch: "release/1/hotfix"}, true},
		{Event{Kind: EventPush, Branch: "dev"}, false},
		{Event{Kind: EventTag, Tag: "v1.0"}, true},
		{Event{Kind: EventTag, Tag: "nightly"}, false},
		{Event{Kind: EventPullRequest, Branch: "main"}, true},
		{Event{Kind: EventPullRequest, Branch: "dev"}, false},
		{Event{Kind: EventSchedule}, true},
		{Event{Kind: EventManual}, false},
		{Event{Kind: EventWebhook}, false},
		{Event{Kind: EventPipeline, Upstream: "build"}, true},
		{Event{Kind: EventPipeline, Upstream: "other"}, false},
		{Event{Kind: "bogus"}, false},
	}
	for _, tt := range tests {
		if got := p.Triggers.Matches(tt.ev); got != tt.want {
			t.Errorf("Matches(%+v) = %v, want %v", tt.ev, got, tt.want)
		}
	}
	if s := p.Triggers.Schedules[1]; s.Branch != "dev" || s.Cron != "@hourly" {
		t.Errorf("schedule = %+v", s)
	}
	def := mustParse(t, ".lathe.yml", "jobs: {a: {steps: [x]}}")
	for kind, want := range map[string]bool{EventPush: true, EventTag: true, EventPullRequest: true, EventManual: true, EventSchedule: false, EventWebhook: false} {
		if got := def.Triggers.Matches(Event{Kind: kind, Branch: "x", Tag: "y"}); got != want {
			t.Errorf("default triggers: Matches(%s) = %v, want %v", kind, got, want)
		}
	}
	list := mustParse(t, ".lathe.yml", "on: [manual, webhook]\njobs: {a: {steps: [x]}}")
	if !list.Triggers.Matches(Event{Kind: EventWebhook}) || list.Triggers.Matches(Event{Kind: EventPush, Branch: "main"}) {
		t.Errorf("on: [manual, webhook] = %+v", list.Triggers)
	}
}

func TestActionsAndJobFields(t *testing.T) {
	p := mustParse(t, ".lathe.yml", `jobs:
  a:
    steps:
      - checkout: {depth: 1}
      - make
      - upload: {name: dist, paths: ["dist/**"]}
      - {name: get, download: {name: dist}}
    retry: {count: 3, on: [infrastructure, timeout]}
    allow_failure: true
    artifacts: {paths: ["out/*.tar"], expire_in: 2w, when: always}
    reports: {junit: ["reports/*.xml"]}
    environment: {name: production, url: "https://example.com/app"}
    approval: {from: [alice, "@org/ops"], message: "  Ship it? "}
    secrets: [DEPLOY_KEY, TOKEN]
`)
	j := p.Jobs[0]
	if len(j.Steps) != 4 || j.Steps[1].Action != nil || j.Steps[0].Action == nil || j.Steps[2].Action == nil || j.Steps[3].Action == nil {
		t.Fatalf("steps %+v", j.Steps)
	}
	if fmt.Sprint(*j.Steps[0].Action, *j.Steps[2].Action, *j.Steps[3].Action) != "{checkout 1  []  0  []  map[]  } {upload 0 dist [dist/**]  0  []  map[]  } {download 0 dist []  0  []  map[]  }" {
		t.Errorf("actions = %+v %+v %+v", *j.Steps[0].Action, *j.Steps[2].Action, *j.Steps[3].Action)
	}
	if fmt.Sprint(j.Steps[0].Name, "|", j.Steps[2].Name, "|", j.Steps[3].Name) != "checkout|upload dist|get" {
		t.Errorf("step names = %+v", j.Steps)
	}
	if fmt.Sprint(j.Retry, j.AllowFailure, *j.Artifacts, *j.Reports, *j.Environment, *j.Approval, j.Secrets) !=
		"{3 [infrastructure timeout]} true {[out/*.tar] 336h0m0s always} {[reports/*.xml] []} {production https://example.com/app} {[alice @org/ops] Ship it?} [{DEPLOY_KEY } {TOKEN }]" {
		t.Errorf("fields = %v %v %v %v %v %v %v", j.Retry, j.AllowFailure, *j.Artifacts, *j.Reports, *j.Environment, *j.Approval, j.Secrets)
	}
	short := mustParse(t, ".lathe.yml", "jobs: {a: {steps: [x], retry: 2, artifacts: [dist], environment: staging, approval: true}}")
	k := short.Jobs[0]
	if fmt.Sprint(k.Retry, *k.Artifacts, *k.Environment, *k.Approval) != "{2 [failure infrastructure timeout]} {[dist] 0s on_success} {staging } {[] }" {
		t.Errorf("short forms = %v %v %v %v", k.Retry, *k.Artifacts, *k.Environment, *k.Approval)
	}
}

// TestExtendsDiamond checks that inheriting the same template along many
// paths does not multiply its fields: 40 levels of diamonds would
// otherwise mean 2^40 env entries.
func TestExtendsDiamond(t *testing.T) {
	var b strings.Builder
	b.WriteString("templates:\n  t0: {env: {A: \"0\"}}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "  t%d: {extends: [t%d, t%d], env: {A: \"%d\"}}\n", i, i-1, i-1, i)
	}
	b.WriteString("jobs: {a: {extends: t40, steps: [x]}}\n")
	p := mustParse(t, ".lathe.yml", b.String())
	if got := fmt.Sprint(p.Jobs[0].Env); got != "[{A 40}]" {
		t.Errorf("env = %s", got)
	}
}

// A gate's message names the expansion it asks about: its matrix values,
// the run's parameters and the job's environment.
func TestPlanApprovalMessageReferences(t *testing.T) {
	p := mustParse(t, ".lathe.yml", `parameters:
  version: {default: "1.2"}
jobs:
  deploy:
    matrix: {env: [staging, production]}
    env: {REGION: eu}
    approval: {message: "Deploy {{ params.version }} to {{ matrix.env }} in {{ env.REGION }}?"}
    steps: [./deploy]
`)
	plan, err := p.Plan(PlanInput{Event: Event{Kind: EventManual}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range plan.Jobs {
		got = append(got, j.Approval.Message)
	}
	if want := "[Deploy 1.2 to staging in eu? Deploy 1.2 to production in eu?]"; fmt.Sprint(got) != want {
		t.Errorf("messages = %v; want %s", got, want)
	}
	if p.Jobs[0].Approval.Message != "Deploy {{ params.version }} to {{ matrix.env }} in {{ env.REGION }}?" {
		t.Errorf("Plan changed the pipeline's gate: %q", p.Jobs[0].Approval.Message)
	}
}
