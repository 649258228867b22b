package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/pipeline"
)

const planPipeline = `
parameters:
  target: {type: choice, choices: [staging, production], default: staging}
stages: [test, deploy]
jobs:
  test:
    stage: test
    matrix: {go: ["1.22", "1.23"]}
    steps: [go test ./...]
  nightly:
    stage: test
    when: {events: [schedule]}
    steps: [make soak]
  deploy:
    stage: deploy
    needs: [test]
    environment: staging
    steps: [./deploy.sh]
`

func planIn(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), append([]string{"plan", "--dir", dir}, args...), env)
	return code, stdout.String(), stderr.String()
}

// `lathe plan` shows the jobs after matrix and conditions, and the ones left
// out with the reason, without running anything.
func TestPlanLocal(t *testing.T) {
	dir := writeFiles(t, map[string]string{".lathe.yml": planPipeline})
	code, out, errOut := planIn(t, dir)
	if code != 0 {
		t.Fatalf("lathe plan: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"test (go=1.22)", "test (go=1.23)", "deploys to staging", `param target = "staging"`, "left out: nightly:"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = planIn(t, dir, "--json", "--event", "schedule", "--param", "target=production")
	var p struct {
		Jobs    []pipeline.JobView
		Skipped []pipeline.Skipped
		Params  []struct{ Name, Value string }
	}
	if err := json.Unmarshal([]byte(out), &p); code != 0 || err != nil {
		t.Fatalf("lathe plan --json: exit %d, %v\n%s", code, err, out)
	}
	var names []string
	for _, j := range p.Jobs {
		names = append(names, j.Name)
	}
	if got := strings.Join(names, ","); got != "test (go=1.22),test (go=1.23),nightly,deploy" || len(p.Skipped) != 0 {
		t.Errorf("scheduled plan jobs = %s, skipped %v", got, p.Skipped)
	}
	deploy := p.Jobs[len(p.Jobs)-1]
	if strings.Join(deploy.Deps, ",") != "test (go=1.22),test (go=1.23)" {
		t.Errorf("deploy deps = %v; want both matrix expansions", deploy.Deps)
	}
	if len(p.Params) != 1 || p.Params[0].Value != "production" {
		t.Errorf("params = %+v", p.Params)
	}

	if code, _, errOut := planIn(t, dir, "--param", "target=mars"); code != 1 || !strings.Contains(errOut, "target") {
		t.Errorf("bad parameter: exit %d\n%s", code, errOut)
	}
}

// `lathe plan` and `lathe exec` for an event the pipeline's on: does not
// take say that on a server such an event starts no run of it at all
// (exec runs it anyway, as asked).
func TestPlanSaysWhenTheEventStartsNoRun(t *testing.T) {
	manual := writeFiles(t, map[string]string{".lathe.yml": "name: chores\non: {manual: {}}\njobs:\n  a:\n    steps: [true]\n"})
	const note = "this push starts no run of pipeline chores: its on: does not take it"
	if code, out, errOut := planIn(t, manual, "--event", "push"); code != 0 || !strings.Contains(out, note) {
		t.Errorf("lathe plan --event push: exit %d, want a note %q:\n%s%s", code, note, out, errOut)
	}
	if code, out, errOut := execIn(t, manual, "--event", "push", "--executor", "shell"); code != 0 || !strings.Contains(out, note) {
		t.Errorf("lathe exec --event push: exit %d, want a note %q:\n%s%s", code, note, out, errOut)
	}
	if code, out, errOut := execIn(t, manual, "--event", "manual", "--executor", "shell"); code != 0 || strings.Contains(out, "starts no run") {
		t.Errorf("lathe exec --event manual: exit %d, want no note:\n%s%s", code, out, errOut)
	}
	for _, tc := range []struct {
		dir  string
		args []string
	}{
		{manual, nil},
		{manual, []string{"--event", "manual"}},
		{writeFiles(t, map[string]string{".lathe.yml": planPipeline}), []string{"--event", "push"}},
	} {
		if code, out, errOut := planIn(t, tc.dir, tc.args...); code != 0 || strings.Contains(out, "starts no run") {
			t.Errorf("lathe plan %v: exit %d, want no note:\n%s%s", tc.args, code, out, errOut)
		}
	}
}

// `lathe plan` on a detached HEAD (not at a tag) says so, where a branch
// would show its ref.
func TestPlanOnADetachedHead(t *testing.T) {
	dir := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n"})
	lathetest.Git(t, dir, "checkout", "-q", "--detach")
	commit := strings.TrimSpace(lathetest.Git(t, dir, "rev-parse", "HEAD"))
	code, out, errOut := planIn(t, dir)
	if want := "at " + commit[:12] + " (detached HEAD), event manual"; code != 0 || !strings.Contains(out, want) {
		t.Errorf("lathe plan on a detached HEAD: exit %d, want %q:\n%s%s", code, want, out, errOut)
	}
}
