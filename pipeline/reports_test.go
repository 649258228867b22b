package pipeline

import (
	"slices"
	"strings"
	"testing"
)

func TestReportsAndExternalStages(t *testing.T) {
	p := mustParse(t, ".lathe.yml", `
stages: [build, {name: scan, external: true}, {name: deploy}]
jobs:
  test:
    stage: build
    steps: [go test ./...]
    reports:
      junit: ["**/junit*.xml", out/report.xml]
      issues: vet.txt
  ship:
    stage: deploy
    steps: [./ship]
  early:
    stage: deploy
    needs: []
    steps: [./early]
`)
	if !slices.Equal(p.Stages, []string{"build", "scan", "deploy"}) || !slices.Equal(p.ExternalStages, []string{"scan"}) {
		t.Errorf("stages %v, external %v", p.Stages, p.ExternalStages)
	}
	r := p.Jobs[0].Reports
	if r == nil || !slices.Equal(r.JUnit, []string{"**/junit*.xml", "out/report.xml"}) || !slices.Equal(r.Issues, []string{"vet.txt"}) {
		t.Errorf("reports = %+v", r)
	}
	plan, err := p.Plan(PlanInput{Event: Event{Kind: EventPush, Branch: "main"}})
	if err != nil {
		t.Fatal(err)
	}
	deps := map[string]string{}
	for _, j := range plan.Jobs {
		deps[j.Name] = strings.Join(j.Deps, ",")
	}
	// A job after the external stage waits for it; one with its own
	// needs does not.
	if deps["ship"] != "test,stage:scan" || deps["early"] != "" || !slices.Equal(plan.ExternalStages, []string{"scan"}) {
		t.Errorf("plan deps = %v, external %v", deps, plan.ExternalStages)
	}
}

func TestReportsAndExternalStagesErrors(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "reports is a list",
		src:  "jobs: {a: {steps: [x], reports: [junit.xml]}}\n",
		want: []wantErr{{line: 1, col: 33, field: "jobs.a.reports", msg: "must be a map such as {junit:"}},
	}, {
		name: "unknown report kind",
		src:  "jobs:\n  a:\n    steps: [x]\n    reports:\n      junit: [a.xml]\n      coverage: [c.out]\n",
		want: []wantErr{{line: 6, col: 7, field: "jobs.a.reports.coverage", msg: `unknown key "coverage"`}},
	}, {
		name: "report glob leaves the workspace",
		src:  "jobs:\n  a:\n    steps: [x]\n    reports: {issues: [../vet.txt]}\n",
		want: []wantErr{{line: 4, col: 23, field: "jobs.a.reports.issues", msg: "leaves the workspace"}},
	}, {
		name: "a job in an external stage",
		src:  "stages: [{name: scan, external: true}]\njobs:\n  a:\n    stage: scan\n    steps: [x]\n",
		want: []wantErr{{line: 4, col: 12, field: "jobs.a.stage", msg: `stage "scan" is external`}},
	}, {
		name: "external is not a boolean",
		src:  "stages: [build, {name: scan, external: yes please}]\njobs: {a: {stage: build, steps: [x]}}\n",
		want: []wantErr{{line: 1, col: 40, field: "stages.external", msg: "must be true or false"}},
	}, {
		name: "unknown key of a stage",
		src:  "stages: [build, {name: scan, extrnal: true}]\njobs: {a: {stage: build, steps: [x]}}\n",
		want: []wantErr{{line: 1, col: 30, field: "stages.extrnal", msg: `unknown key "extrnal"`}},
	}})
}
