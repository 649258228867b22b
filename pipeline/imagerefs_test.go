package pipeline

import (
	"reflect"
	"testing"

	"github.com/lathe-ci/lathe"
)

// A matrix job's image and services take the expansion's matrix values and
// the run's parameters: one image per expansion, the parsed pipeline left
// as written.
func TestPlanContainerRefs(t *testing.T) {
	p := mustParse(t, ".lathe.yml", `
parameters:
  registry: {default: docker.io}
jobs:
  test:
    matrix:
      go: ["1.22", "1.23"]
      pg: ["15", "16"]
      exclude: [{go: "1.22", pg: "16"}]
    image: "{{ params.registry }}/library/golang:{{ matrix.go }}"
    services:
      - name: db
        image: "postgres:{{ matrix.pg }}"
        env: {POSTGRES_DB: "app-{{ matrix.go }}", PLAIN: "{{ env.KEEP }}"}
        command: [postgres, -c, "cluster_name={{ matrix.pg }}"]
      - redis:7
    steps: [go test ./...]
  plain:
    image: alpine:3
    steps: [true]
`)
	plan, err := p.Plan(PlanInput{Params: map[string]string{"registry": "mirror.local:5000"}})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, j := range plan.Jobs {
		c := j.Container
		row := []string{j.Name, c.Image}
		for _, svc := range c.Services {
			row = append(row, svc.Name+"="+svc.Image)
			for _, e := range svc.Env {
				row = append(row, e.Name+"="+e.Value)
			}
			row = append(row, svc.Command...)
		}
		got = append(got, row)
	}
	want := [][]string{
		{"test (go=1.22, pg=15)", "mirror.local:5000/library/golang:1.22", "db=postgres:15", "POSTGRES_DB=app-1.22", "PLAIN={{ env.KEEP }}", "postgres", "-c", "cluster_name=15", "redis=redis:7"},
		{"test (go=1.23, pg=15)", "mirror.local:5000/library/golang:1.23", "db=postgres:15", "POSTGRES_DB=app-1.23", "PLAIN={{ env.KEEP }}", "postgres", "-c", "cluster_name=15", "redis=redis:7"},
		{"test (go=1.23, pg=16)", "mirror.local:5000/library/golang:1.23", "db=postgres:16", "POSTGRES_DB=app-1.23", "PLAIN={{ env.KEEP }}", "postgres", "-c", "cluster_name=16", "redis=redis:7"},
		{"plain", "alpine:3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan containers:\n got %q\nwant %q", got, want)
	}
	if plan.Jobs[3].Container != p.Job("plain").Container {
		t.Error("a container without references was copied")
	}
	parsed := p.Job("test").Container
	if parsed.Image != "{{ params.registry }}/library/golang:{{ matrix.go }}" || parsed.Services[0].Image != "postgres:{{ matrix.pg }}" ||
		parsed.Services[0].Env[0].Value != "app-{{ matrix.go }}" || parsed.Services[0].Command[2] != "cluster_name={{ matrix.pg }}" {
		t.Errorf("the parsed pipeline changed: %+v", parsed)
	}
	if !reflect.DeepEqual(p.Job("test").RunsOn, []string{lathe.ContainerExecutorLabel}) {
		t.Errorf("runs-on = %v", p.Job("test").RunsOn)
	}
}

// An image template inherited through extends is checked against the
// matrix of the job that extends it, not in the template.
func TestPlanContainerRefsExtends(t *testing.T) {
	p := mustParse(t, ".lathe.yml", `
templates:
  go: {image: "golang:{{ matrix.go }}"}
jobs:
  test:
    extends: go
    matrix: {go: ["1.22", "1.23"]}
    steps: [go test ./...]
`)
	plan, err := p.Plan(PlanInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Jobs) != 2 || plan.Jobs[0].Container.Image != "golang:1.22" || plan.Jobs[1].Container.Image != "golang:1.23" {
		t.Errorf("images: %+v %+v", plan.Jobs[0].Container, plan.Jobs[1].Container)
	}
}

func TestParseContainerRefErrors(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "unknown matrix axis in image",
		src:  "jobs:\n  a:\n    matrix: {go: [\"1.22\"]}\n    image: golang:{{ matrix.golang }}\n    steps: [x]\n",
		want: []wantErr{{line: 4, col: 12, field: "jobs.a.image", msg: `"golang:{{ matrix.golang }}" names matrix.golang, which this job's matrix does not have`}},
	}, {
		name: "matrix reference without a matrix, undeclared parameter",
		src: "parameters: {tag: {default: \"16\"}}\njobs:\n  a:\n    image: golang:{{ matrix.go }}\n" +
			"    services:\n      - {name: db, image: \"postgres:{{ params.tags }}\", env: {V: \"{{ params.nope }}\"}, command: \"x {{ matrix.y }}\"}\n    steps: [x]\n",
		want: []wantErr{
			{line: 4, col: 12, field: "jobs.a.image", msg: `"golang:{{ matrix.go }}" names matrix.go, which this job's matrix does not have`},
			{line: 6, col: 27, field: "jobs.a.services[0].image", msg: `"postgres:{{ params.tags }}" names params.tags, which this pipeline does not declare under parameters: (did you mean "tag"?)`},
			{line: 6, col: 66, field: "jobs.a.services[0].env.V", msg: `"{{ params.nope }}" names params.nope, which this pipeline does not declare under parameters:`},
			{line: 6, col: 97, field: "jobs.a.services[0].command", msg: `"x {{ matrix.y }}" names matrix.y, which this job's matrix does not have`},
		},
	}, {
		name: "other expressions and bad templates",
		src: "jobs:\n  a:\n    image: golang:{{ env.GO }}\n    steps: [x]\n  b:\n    image: Golang:{{ matrix.go }}\n    matrix: {go: [\"1\"]}\n    steps: [x]\n" +
			"  c:\n    image: alpine\n    services: [\"pg-{{ matrix.v }}:16\"]\n    matrix: {v: [\"1\"]}\n    steps: [x]\n",
		want: []wantErr{
			{line: 3, col: 12, field: "jobs.a.image", msg: `"golang:{{ env.GO }}": only {{ matrix.AXIS }} and {{ params.NAME }} may appear between {{ and }}`},
			{line: 6, col: 12, field: "jobs.b.image", msg: `"Golang:{{ matrix.go }}" (its {{ … }} taken as x) is not an image name: write NAME[:TAG] or NAME@DIGEST in lower case, like golang:{{ matrix.go }}`},
			{line: 11, col: 16, field: "jobs.c.services[0]", msg: `a service whose image name holds {{ … }} needs a name:, like {name: db, image: "pg-{{ matrix.v }}:16"}`},
		},
	}, {
		name: "a matrix value that makes no image name",
		src:  "jobs:\n  a:\n    matrix: {go: [\"1.23\", \"1.23 beta\"]}\n    image: golang:{{ matrix.go }}\n    steps: [x]\n",
		want: []wantErr{{line: 4, col: 12, field: "jobs.a.image", msg: `in the expansion a (go=1.23 beta), "golang:{{ matrix.go }}" becomes "golang:1.23 beta", which is not an image name`}},
	}})
}

// A parameter read only by an image or a `with:` value is used.
func TestLintParamsUsedByRefs(t *testing.T) {
	files := []File{{Path: ".lathe.yml", Data: []byte(`parameters:
  registry: {default: docker.io}
  pg: {default: "16"}
  who: {}
  unused: {}
jobs:
  a:
    image: "{{ params.registry }}/golang:1"
    services: [{name: db, image: "postgres:{{ params.pg }}"}]
    steps: [{uses: greet@1, with: {who: "{{ params.who }}"}}]
`)}}
	errs, warns := Lint(files)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	checkErrors(t, warns, ".lathe.yml", []wantErr{{line: 5, col: 3, field: "parameters.unused", msg: `parameter "unused" is never used`}})
}
