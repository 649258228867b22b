package pipeline

import (
	"testing"
	"time"
)

func TestLintWarnings(t *testing.T) {
	files := []File{{Path: ".lathe.yml", Data: []byte(`on: {push: {}, pipeline: {after: [nightly]}}
parameters:
  unused: {}
  used-in-if: {}
  used-in-run: {}
jobs:
  a: {steps: [x], when: {events: [manual]}}
  b: {steps: [x], if: "false && true"}
  c: {steps: ["echo $PARAM_USED_IN_RUN"], when: {if: params.used-in-if}}
  d: {steps: [x], needs: [c], secrets: [Token]}
`)}}
	errs, warns := Lint(files)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []wantErr{
		{line: 1, col: 1, field: "on.pipeline.after", msg: `no pipeline "nightly" is defined in these files`},
		{line: 3, col: 3, field: "parameters.unused", msg: `parameter "unused" is never used`},
		{line: 7, col: 3, field: "jobs.a.when.events", msg: "a never runs: none of its events (manual) starts this pipeline"},
		{line: 8, col: 23, field: "jobs.b.if", msg: "the condition is always false, so b never runs"},
		{line: 10, col: 27, field: "jobs.d.needs", msg: `"c" runs only when its ` + "`when`" + ` holds; when it is left out, d is left out too`},
		{line: 10, col: 41, field: "jobs.d.secrets", msg: `is "Token" meant to be "TOKEN"?`},
	}
	checkErrors(t, warns, ".lathe.yml", want)
	for _, w := range warns {
		if w.Severity != SeverityWarning {
			t.Errorf("warning with severity %q", w.Severity)
		}
	}
	// Warnings never stop parsing.
	if _, err := Parse(files); err != nil {
		t.Errorf("Parse: %v", err)
	}
}

// A timeout with a fraction of a second is rounded up, for a job or a
// service, and lint says so.
func TestLintWarnsOfRoundedTimeouts(t *testing.T) {
	files := []File{{Path: ".lathe.yml", Data: []byte(`jobs:
  a: {timeout: 500ms, steps: [x]}
  b:
    timeout: 1m
    image: alpine
    services: [{image: redis, timeout: 1500ms}]
    steps: [x]
`)}}
	errs, warns := Lint(files)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	checkErrors(t, warns, ".lathe.yml", []wantErr{
		{line: 2, col: 16, field: "jobs.a.timeout", msg: "500ms is rounded up to 1s: timeouts are whole seconds"},
		{line: 6, col: 40, field: "jobs.b.services[0].timeout", msg: "1500ms is rounded up to 2s"},
	})
	p := mustParse(t, ".lathe.yml", string(files[0].Data))
	if a, svc := p.Jobs[0].Timeout, p.Jobs[1].Container.Services[0].ReadyTimeoutSec; a != time.Second || svc != 2 {
		t.Errorf("timeouts = %v and %ds; want 1s and 2s", a, svc)
	}
}

// Two jobs uploading the same name, and a download of a name no job
// uploads, fail at run time: lint says so first. Matrix names are
// patterns; a job's own expansions share no name.
func TestLintWarnsOfUploadNames(t *testing.T) {
	files := []File{{Path: ".lathe.yml", Data: []byte(`jobs:
  build:
    matrix: {os: [linux, mac]}
    steps: [make, {upload: {name: "bin-{{ matrix.os }}", paths: [bin]}}]
  docs:
    steps: [make docs, {upload: {name: report, paths: [r]}}]
  lint:
    steps: [make lint, {upload: {name: report, paths: [r]}}]
  test:
    needs: [build, docs]
    steps: [{download: {name: bin-linux}}, {download: {name: dist}}, {download: {name: report}}]
`)}}
	errs, warns := Lint(files)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	checkErrors(t, warns, ".lathe.yml", []wantErr{
		{line: 7, col: 3, field: "jobs.lint.steps[1].upload.name", msg: `docs uploads "report" too; when both run, the second upload is refused`},
		{line: 9, col: 3, field: "jobs.test.steps[1].download.name", msg: `no job of this pipeline uploads "dist", so this download fails`},
	})
}

// A matrix upload name that leaves out an axis the expansions differ by
// names two expansions the same: the second's upload would be refused.
// The error points at the name, where it is written (in the template a
// job inherits its steps from, too).
func TestAMatrixUploadNameNamesEveryAxis(t *testing.T) {
	errs, _ := Lint([]File{{Path: ".lathe.yml", Data: []byte(`templates:
  ship: {steps: [{upload: {name: "bin-{{ matrix.go }}", paths: [bin]}}]}
jobs:
  build:
    matrix: {os: [linux, darwin], go: ["1", "2"]}
    steps: [make, {upload: {name: "bin-{{ matrix.os }}", paths: [bin]}}]
  ok:
    matrix: {os: [linux, darwin], go: ["1", "2"]}
    steps: [make, {upload: {name: "bin-{{ matrix.os }}-{{ matrix.go }}", paths: [bin]}}]
  inherits:
    extends: ship
    matrix: {os: [linux, darwin], go: ["1", "2"]}
`)}})
	checkErrors(t, errs, ".lathe.yml", []wantErr{
		{line: 2, col: 34, field: "jobs.inherits.steps[0].upload.name", msg: `expansions (os=linux, go=1) and (os=darwin, go=1) would both upload "bin-1"`},
		{line: 6, col: 35, field: "jobs.build.steps[1].upload.name", msg: `expansions (os=linux, go=1) and (os=linux, go=2) would both upload "bin-linux"`},
	})
}
