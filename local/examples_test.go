package local_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/local"
)

// Every example in examples/ runs under `lathe exec` and succeeds with the
// jobs its README promises. Each runs in a copy, since steps write into
// the directory they run in.
func TestExamplesRun(t *testing.T) {
	tests := []struct {
		dir    string
		opts   local.Options
		jobs   []string // every job, in plan order, all success
		output []string // lines the output must hold
	}{
		{dir: "go-matrix",
			jobs: []string{"vet", "test (tags=default, mode=short)", "test (tags=default, mode=full)", "test (tags=loud, mode=short)", "summary"}},
		{dir: "monorepo", jobs: []string{"api", "web", "docs", "integration"}, output: []string{"building the api", "api and web together"}},
		{dir: "phases", opts: local.Options{Approve: true},
			jobs:   []string{"build", "deploy-staging", "smoke", "deploy-production"},
			output: []string{"production now runs release of"}},
		{dir: "parameterized", opts: local.Options{Params: map[string]string{"target": "production", "dry-run": "false"}},
			jobs:   []string{"plan", "apply", "announce"},
			output: []string{"maintenance of production in batches of 100 (dry run: false)"}},
		{dir: "releases", opts: local.Options{Pipeline: "deploy", Params: map[string]string{"version": "1.0.0-rc1", "environment": "staging"}},
			jobs:   []string{"deploy", "smoke"},
			output: []string{"staging answers with 1.0.0-rc1"}},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "examples", tc.dir))); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var out bytes.Buffer
			opts := tc.opts
			opts.Dir, opts.Out = dir, &out
			res, err := local.Run(ctx, opts)
			if err != nil {
				t.Fatalf("exec %s: %v\n%s", tc.dir, err, out.String())
			}
			var got []string
			for _, j := range res.Jobs {
				got = append(got, j.Name)
				if j.Status != lathe.StatusSuccess {
					t.Errorf("job %s = %s (%s)", j.Name, j.Status, j.Reason)
				}
			}
			if res.Status != lathe.StatusSuccess || strings.Join(got, "|") != strings.Join(tc.jobs, "|") {
				t.Errorf("run = %s with jobs %q; want success with %q\n%s", res.Status, got, tc.jobs, out.String())
			}
			for _, want := range tc.output {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// Without --approve the confirmation gate holds production back, and the
// run says so rather than failing.
func TestPhasesExampleStopsAtTheGate(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "examples", "phases"))); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := local.Run(context.Background(), local.Options{Dir: dir, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != lathe.StatusSuccess {
		t.Errorf("run without approval = %s; want success (a gate left shut is not a failure)", res.Status)
	}
	if !strings.Contains(out.String(), "approval required from release-managers") {
		t.Errorf("no approval notice:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, ".deploy", "production")); err == nil {
		t.Errorf("production was deployed without approval")
	}
	if _, err := os.Stat(filepath.Join(dir, ".deploy", "staging", "app.txt")); err != nil {
		t.Errorf("staging was not deployed: %v", err)
	}
}
