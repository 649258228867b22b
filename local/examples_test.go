package local_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/local"
)

// example is one directory of examples/ and how to run it.
type example struct {
	dir      string
	pipeline string
	params   map[string]string
	// approve answers the approval gates (--approve; on a server, the
	// admin approves each job that waits).
	approve bool
	// goBuild: the jobs build Go. They run with the shell executor and the
	// test's Go caches on both sides: in a sandbox each job would start
	// with an empty build cache and spend minutes building the standard
	// library, which tests nothing more.
	goBuild bool
	jobs    []string // every job, in plan order, all success
	output  []string // lines the exec output must hold
}

var examples = []example{
	{dir: "go-matrix", goBuild: true,
		jobs: []string{"vet", "test (tags=default, mode=short)", "test (tags=default, mode=full)", "test (tags=loud, mode=short)", "summary"}},
	{dir: "monorepo", jobs: []string{"api", "web", "docs", "integration"}, output: []string{"building the api", "api and web together"}},
	{dir: "phases", approve: true,
		jobs:   []string{"build", "deploy-staging", "smoke", "deploy-production"},
		output: []string{"production now runs release of"}},
	{dir: "parameterized", params: map[string]string{"target": "production", "dry-run": "false"},
		jobs:   []string{"plan", "apply", "announce"},
		output: []string{"maintenance of production in batches of 100 (dry run: false)"}},
	{dir: "releases", pipeline: "deploy", params: map[string]string{"version": "1.0.0-rc1", "environment": "staging"},
		jobs:   []string{"deploy", "smoke"},
		output: []string{"staging answers with 1.0.0-rc1"}},
}

// The table names every directory of examples/: a new example is run too.
func TestExamplesAreAllRun(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !slices.ContainsFunc(examples, func(x example) bool { return x.dir == e.Name() }) {
			t.Errorf("examples/%s is not in the examples table of this test", e.Name())
		}
	}
}

// Every example in examples/ runs under `lathe exec` and succeeds with the
// jobs its README promises. Each runs in a copy, since steps write into
// the directory they run in.
func TestExamplesRun(t *testing.T) {
	for _, x := range examples {
		t.Run(x.dir, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "examples", x.dir))); err != nil {
				t.Fatal(err)
			}
			res, out := execExample(t, x, dir)
			var got []string
			for _, j := range res.Jobs {
				got = append(got, j.Name)
				if j.Status != lathe.StatusSuccess {
					t.Errorf("job %s = %s (%s)", j.Name, j.Status, j.Reason)
				}
			}
			if res.Status != lathe.StatusSuccess || strings.Join(got, "|") != strings.Join(x.jobs, "|") {
				t.Errorf("run = %s with jobs %q; want success with %q\n%s", res.Status, got, x.jobs, out)
			}
			for _, want := range x.output {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func execExample(t *testing.T, x example, dir string) (*local.Result, string) {
	return execExampleAs(t, x, dir, "")
}

// execExampleAs runs the example in dir under exec with the event kind
// ("": the repository's), in the sandbox where bubblewrap is installed.
func execExampleAs(t *testing.T, x example, dir, event string) (*local.Result, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out bytes.Buffer
	opts := local.Options{Dir: dir, Out: &out, Pipeline: x.pipeline, Params: x.params, Approve: x.approve, Event: event}
	if x.goBuild {
		opts.Executor.Kind = executor.KindShell
	} else {
		opts.Executor = lathetest.Executor(t, opts.Executor)
	}
	res, err := local.Run(ctx, opts)
	if err != nil {
		t.Fatalf("exec %s: %v\n%s", x.dir, err, out.String())
	}
	return res, out.String()
}

// Without --approve the confirmation gate holds production back, and the
// run says so rather than failing. What staging got stays in the run's
// uploads under .lathe/exec.
func TestPhasesExampleStopsAtTheGate(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "examples", "phases"))); err != nil {
		t.Fatal(err)
	}
	x := example{dir: "phases"}
	res, out := execExample(t, x, dir)
	if res.Status != lathe.StatusSuccess {
		t.Errorf("run without approval = %s; want success (a gate left shut is not a failure)", res.Status)
	}
	if !strings.Contains(out, "approval required from release-managers") {
		t.Errorf("no approval notice:\n%s", out)
	}
	for _, j := range res.Jobs {
		want := lathe.StatusSuccess
		if j.Name == "deploy-production" {
			want = lathe.StatusSkipped
		}
		if j.Status != want {
			t.Errorf("%s = %s; want %s", j.Name, j.Status, want)
		}
	}
	for _, p := range []string{"uploads/app.tar.gz", "uploads/staging.tar.gz", "artifacts/build/dist/app.txt"} {
		if _, err := os.Stat(filepath.Join(dir, ".lathe", "exec", "1", p)); err != nil {
			t.Errorf("the run kept no %s: %v", p, err)
		}
	}
	// Jobs ran in workspaces of their own: the directory is as it was.
	for _, p := range []string{"dist", ".deploy"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("a job wrote %s into the directory itself", p)
		}
	}
}
