package pipeline

import (
	"reflect"
	"testing"

	"github.com/lathe-ci/lathe"
)

func TestParseContainerJob(t *testing.T) {
	src := `
templates:
  go:
    image: golang:1.23
    pull: always
jobs:
  test:
    extends: go
    runs-on: linux
    resources: {cpus: 1.5, memory: 512m}
    services:
      - postgres:16
      - name: cache
        image: ghcr.io/acme/redis:7
        env: {MODE: fast}
        command: redis-server --port 7000
        ready: redis-cli -p 7000 ping
        timeout: 2m
    steps: [go test ./...]
  plain:
    steps: [make]
`
	p, err := ParseFile(".lathe.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	j := p.Job("test")
	want := &lathe.JobContainer{Image: "golang:1.23", Pull: lathe.PullAlways,
		Resources: &lathe.Resources{CPUs: 1.5, MemoryBytes: 512 << 20},
		Services: []lathe.Service{
			{Name: "postgres", Image: "postgres:16"},
			{Name: "cache", Image: "ghcr.io/acme/redis:7", Env: []lathe.EnvVar{{Name: "MODE", Value: "fast"}},
				Command: []string{"redis-server", "--port", "7000"}, Ready: "redis-cli -p 7000 ping", ReadyTimeoutSec: 120},
		}}
	if !reflect.DeepEqual(j.Container, want) {
		t.Errorf("container = %+v\nwant %+v", j.Container, want)
	}
	if !reflect.DeepEqual(j.RunsOn, []string{"linux", lathe.ContainerExecutorLabel}) {
		t.Errorf("runs-on = %v: a job with an image needs an agent with a container executor", j.RunsOn)
	}
	if plain := p.Job("plain"); plain.Container != nil || len(plain.RunsOn) != 0 {
		t.Errorf("plain job: %+v %v", plain.Container, plain.RunsOn)
	}
}

func TestParseContainerErrors(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "image not a name",
		src:  "jobs:\n  a:\n    image: Golang 1.23\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 12, field: "jobs.a.image", msg: `"Golang 1.23" is not an image name: write NAME[:TAG] or NAME@DIGEST in lower case, like golang:1.23 or ghcr.io/org/tool:2`}},
	}, {
		name: "services without image",
		src:  "jobs:\n  a:\n    services: [postgres]\n    pull: never\n    steps: [x]\n",
		want: []wantErr{
			{line: 3, col: 5, field: "jobs.a.services", msg: "needs image: too; services applies to a job run in a container"},
			{line: 4, col: 5, field: "jobs.a.pull", msg: "needs image: too; pull applies to a job run in a container"},
		},
	}, {
		name: "bad pull, resources and service",
		src: "jobs:\n  a:\n    image: alpine\n    pull: sometimes\n    resources: {cpus: 0, memory: 1m, disk: 2g}\n" +
			"    services:\n      - name: DB\n        image: postgres\n      - {name: db, image: postgres, colour: red}\n      - {name: x}\n      - postgres\n      - postgres\n    steps: [x]\n",
		want: []wantErr{
			{line: 4, col: 11, field: "jobs.a.pull", msg: `must be one of if-not-present, always, never, not "sometimes"`},
			{line: 5, col: 23, field: "jobs.a.resources.cpus", msg: `must be a number of CPUs greater than zero and at most 1024, like 2 or 0.5, not "0"`},
			{line: 5, col: 34, field: "jobs.a.resources.memory", msg: `must be an amount of memory like 512m or 4g (k, m, g: KiB, MiB, GiB), at least 6m; "1m" is less (container engines refuse less than 6 MiB)`},
			{line: 5, col: 38, field: "jobs.a.resources.disk", msg: `unknown key "disk"; expected one of: cpus, memory`},
			{line: 7, col: 15, field: "jobs.a.services[0].name", msg: "must be a host name: lower-case letters, digits and '-', like db or redis-cache"},
			{line: 9, col: 37, field: "jobs.a.services[1].colour", msg: `unknown key "colour"; expected one of: name, image, env, command, ready, timeout`},
			{line: 10, col: 9, field: "jobs.a.services[2].image", msg: "missing; every service needs an image"},
			{line: 12, col: 9, field: "jobs.a.services[4]", msg: `a second service named "postgres" (the first is on line 11); give one a name:`},
		},
	}})
}
