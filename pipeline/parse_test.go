package pipeline

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ci/lathe"
)

// job builds an expected job with the defaults Parse fills in.
func job(name string, line int, steps ...string) *Job {
	j := &Job{Name: name, Base: name, Stage: DefaultStage, Deps: []string{}, Timeout: DefaultTimeout, Line: line}
	for _, s := range steps {
		j.Steps = append(j.Steps, lathe.StepDef{Name: s, Run: s})
	}
	return j
}

// with applies changes to a job built by job.
func with(j *Job, change func(*Job)) *Job {
	change(j)
	return j
}

func TestParseFile(t *testing.T) {
	tests := []struct {
		name string
		file string
		src  string
		want *Pipeline
	}{{
		name: "minimal file gets every default",
		file: ".lathe.yml",
		src: `jobs:
  build:
    steps: [make]
`,
		want: &Pipeline{Name: "main", File: ".lathe.yml", Stages: []string{"default"},
			Jobs: []*Job{job("build", 2, "make")}},
	}, {
		name: "name derived from a file under .lathe",
		file: ".lathe/deploy.yml",
		src:  "jobs: {ship: {steps: [./ship]}}",
		want: &Pipeline{Name: "deploy", File: ".lathe/deploy.yml", Stages: []string{"default"},
			Jobs: []*Job{job("ship", 1, "./ship")}},
	}, {
		name: "explicit name wins over the file name",
		file: ".lathe/deploy.yaml",
		src:  "name: release-1.x_final\njobs: {ship: {steps: [./ship]}}",
		want: &Pipeline{Name: "release-1.x_final", File: ".lathe/deploy.yaml", Stages: []string{"default"},
			Jobs: []*Job{job("ship", 2, "./ship")}},
	}, {
		name: "pipeline env keeps order and literal text of scalars",
		file: ".lathe.yml",
		src: `env:
  GOFLAGS: -mod=mod
  RETRIES: 010
  RATIO: 1.50
  DEBUG: true
  QUOTED: "yes: really"
  EMPTY:
  _under_score9: ~
jobs: {a: {steps: [x]}}
`,
		want: &Pipeline{Name: "main", File: ".lathe.yml", Stages: []string{"default"},
			Env: []lathe.EnvVar{
				{Name: "GOFLAGS", Value: "-mod=mod"},
				{Name: "RETRIES", Value: "010"},
				{Name: "RATIO", Value: "1.50"},
				{Name: "DEBUG", Value: "true"},
				{Name: "QUOTED", Value: "yes: really"},
				{Name: "EMPTY", Value: ""},
				{Name: "_under_score9", Value: ""},
			},
			Jobs: []*Job{job("a", 9, "x")}},
	}, {
		name: "job fields",
		file: ".lathe.yml",
		src: `jobs:
  lint:
    steps: [golint]
  build:
    runs-on: linux
    timeout: 10m
    env: {CGO_ENABLED: "0", N: 3}
    needs: lint
    steps:
      - go build ./...
      - name: test
        run: |
          go test ./...
`,
		want: &Pipeline{Name: "main", File: ".lathe.yml", Stages: []string{"default"},
			Jobs: []*Job{
				job("lint", 2, "golint"),
				{
					Name: "build", Base: "build", Stage: "default", Line: 4,
					Needs: []string{"lint"}, Deps: []string{"lint"},
					RunsOn:  []string{"linux"},
					Timeout: 10 * time.Minute,
					Env:     []lathe.EnvVar{{Name: "CGO_ENABLED", Value: "0"}, {Name: "N", Value: "3"}},
					Steps: []lathe.StepDef{
						{Name: "go build ./...", Run: "go build ./..."},
						{Name: "test", Run: "go test ./...\n"},
					},
				},
			}},
	}, {
		name: "stages, needs and the deps they imply",
		file: ".lathe.yml",
		// File order deliberately differs from stage order.
		src: `stages: [build, test, deploy]
jobs:
  unit:
    stage: test
    steps: [make test]
  compile:
    stage: build
    steps: [make]
  ship:
    stage: deploy
    steps: [make ship]
  vet:
    stage: build
    steps: [make vet]
  smoke:
    stage: test
    needs: [compile]
    steps: [make smoke]
  notify:
    stage: deploy
    needs: []
    steps: [make notify]
  e2e:
    stage: test
    needs: [smoke, vet]
    steps: [make e2e]
`,
		want: &Pipeline{Name: "main", File: ".lathe.yml", Stages: []string{"build", "test", "deploy"},
			Jobs: []*Job{
				with(job("unit", 3, "make test"), func(j *Job) { j.Stage = "test"; j.Deps = []string{"compile", "vet"} }),
				with(job("compile", 6, "make"), func(j *Job) { j.Stage = "build" }),
				with(job("ship", 9, "make ship"), func(j *Job) {
					j.Stage = "deploy"
					j.Deps = []string{"compile", "vet", "unit", "smoke", "e2e"}
				}),
				with(job("vet", 12, "make vet"), func(j *Job) { j.Stage = "build" }),
				with(job("smoke", 15, "make smoke"), func(j *Job) {
					j.Stage = "test"
					j.Needs = []string{"compile"}
					j.Deps = []string{"compile"}
				}),
				with(job("notify", 19, "make notify"), func(j *Job) {
					j.Stage = "deploy"
					j.Needs = []string{}
				}),
				with(job("e2e", 23, "make e2e"), func(j *Job) {
					j.Stage = "test"
					j.Needs = []string{"smoke", "vet"}
					j.Deps = []string{"smoke", "vet"}
				}),
			}},
	}, {
		name: "runs-on as a list",
		file: ".lathe.yml",
		src:  "jobs: {a: {runs-on: [linux, arm64], steps: [x]}}",
		want: &Pipeline{Name: "main", File: ".lathe.yml", Stages: []string{"default"},
			Jobs: []*Job{with(job("a", 1, "x"), func(j *Job) { j.RunsOn = []string{"linux", "arm64"} })}},
	}, {
		name: "empty runs-on and env are absent",
		file: ".lathe.yml",
		src:  "env:\njobs: {a: {runs-on: , env: , steps: [x]}}",
		want: &Pipeline{Name: "main", File: ".lathe.yml", Stages: []string{"default"},
			Jobs: []*Job{job("a", 2, "x")}},
	}, {
		name: "step names from commands",
		file: ".lathe.yml",
		src: `jobs:
  a:
    steps:
      - |

        echo first
        echo second
      - run: echo named by run
      - name: ""
        run: echo empty name
      - ` + strings.Repeat("é", 81) + `
`,
		want: &Pipeline{Name: "main", File: ".lathe.yml", Stages: []string{"default"},
			Jobs: []*Job{with(job("a", 2), func(j *Job) {
				j.Steps = []lathe.StepDef{
					{Name: "echo first", Run: "\necho first\necho second\n"},
					{Name: "echo named by run", Run: "echo named by run"},
					{Name: "echo empty name", Run: "echo empty name"},
					{Name: strings.Repeat("é", 80), Run: strings.Repeat("é", 81)},
				}
			})}},
	}, {
		name: "anchors, aliases and merge keys",
		file: ".lathe.yml",
		src: `jobs:
  a: &base
    runs-on: &labels [linux]
    env: &env {A: "1", B: "2"}
    steps: &steps [make]
  b:
    <<: *base
    env:
      <<: [*env, {A: "9", C: "3"}]
      B: "override"
    steps: *steps
`,
		want: &Pipeline{Name: "main", File: ".lathe.yml", Stages: []string{"default"},
			Jobs: []*Job{
				with(job("a", 2, "make"), func(j *Job) {
					j.RunsOn = []string{"linux"}
					j.Env = []lathe.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
				}),
				with(job("b", 6, "make"), func(j *Job) {
					j.RunsOn = []string{"linux"}
					j.Env = []lathe.EnvVar{{Name: "A", Value: "1"}, {Name: "C", Value: "3"}, {Name: "B", Value: "override"}}
				}),
			}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.file, tt.src)
			if tt.want.Triggers == nil {
				tt.want.Triggers = defaultTriggers()
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

func TestParseFileTimeout(t *testing.T) {
	tests := []struct {
		src  string
		want time.Duration
	}{
		{"90s", 90 * time.Second},
		{"10m", 10 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"120", 2 * time.Minute},
		{`"300"`, 5 * time.Minute},
		{"72h", 72 * time.Hour},
		{"259200", 72 * time.Hour},
		// A fraction of a second is rounded up: the server keeps whole
		// seconds, and exec must time a job out when an agent would.
		{"1ms", time.Second},
		{"500ms", time.Second},
		{"1500ms", 2 * time.Second},
		{"1.5s", 2 * time.Second},
		{"59.001s", time.Minute},
		{"71h59m59.5s", 72 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p := mustParse(t, ".lathe.yml", "jobs: {a: {timeout: "+tt.src+", steps: [x]}}")
			j := p.Jobs[0]
			if j.Timeout != tt.want || j.TimeoutSec() != int64(tt.want/time.Second) || j.View().TimeoutSec != j.TimeoutSec() {
				t.Errorf("timeout %s = %v, %ds, viewed as %ds; want %v", tt.src, j.Timeout, j.TimeoutSec(), j.View().TimeoutSec, tt.want)
			}
		})
	}
}

func TestDefaultName(t *testing.T) {
	tests := map[string]string{
		".lathe.yml":         "main",
		".lathe.yaml":        "main",
		".lathe/deploy.yml":  "deploy",
		".lathe/deploy.yaml": "deploy",
		".lathe/a.b.yml":     "a.b",
		"sub/.lathe.yml":     "main",
	}
	for file, want := range tests {
		if got := defaultName(file); got != want {
			t.Errorf("defaultName(%q) = %q, want %q", file, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	files := []File{
		{Path: ".lathe.yml", Data: []byte("jobs: {a: {steps: [x]}}")},
		{Path: ".lathe/deploy.yml", Data: []byte("jobs: {b: {steps: [y]}}")},
		{Path: ".lathe/nightly.yaml", Data: []byte("name: cron\njobs: {c: {steps: [z]}}")},
	}
	got, err := Parse(files)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.File+"="+p.Name)
	}
	want := []string{".lathe.yml=main", ".lathe/deploy.yml=deploy", ".lathe/nightly.yaml=cron"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("pipelines = %v, want %v", names, want)
	}
}

func TestParseNoFiles(t *testing.T) {
	got, err := Parse(nil)
	if err != nil || len(got) != 0 {
		t.Errorf("Parse(nil) = %v, %v; want no pipelines and no error", got, err)
	}
}

func TestParseDuplicatePipelineNames(t *testing.T) {
	files := []File{
		{Path: ".lathe.yml", Data: []byte("jobs: {a: {steps: [x]}}")},
		{Path: ".lathe/main.yml", Data: []byte("jobs: {a: {steps: [x]}}")},
		{Path: ".lathe/x.yml", Data: []byte("name: ci\njobs: {a: {steps: [x]}}")},
		{Path: ".lathe/y.yml", Data: []byte("jobs: {a: {steps: [x]}}\nname: ci\n")},
	}
	got, err := Parse(files)
	if got != nil {
		t.Errorf("Parse returned pipelines %v alongside errors", got)
	}
	checkErrors(t, err, "", []wantErr{
		{file: ".lathe/main.yml", line: 1, col: 1, field: "name", msg: `pipeline "main" is already defined in .lathe.yml`},
		{file: ".lathe/y.yml", line: 2, col: 7, field: "name", msg: `pipeline "ci" is already defined in .lathe/x.yml`},
	})
}

// dump renders a pipeline for failure messages.
func dump(p *Pipeline) string {
	b, _ := json.MarshalIndent(p, "", "  ")
	return string(b)
}
