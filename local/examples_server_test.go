package local_test

import (
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/pipeline"
)

// Every example runs both ways, from the same git repository at the same
// commit: under `lathe exec`, and on a real server with real agents. Each
// job ends the same way on both: exec runs like the server.
func TestExamplesRunTheSameOnAServer(t *testing.T) {
	for _, x := range examples {
		t.Run(x.dir, func(t *testing.T) {
			repo := lathetest.Repo(t, exampleFiles(t, x.dir))

			// exec, in the repository: each job checks out its commit.
			// The server's run is started by hand, so exec's is too.
			res, out := execExampleAs(t, x, repo, pipeline.EventManual)
			execJobs := map[string]lathe.Status{}
			for _, j := range res.Jobs {
				execJobs[j.Name] = j.Status
			}

			opts := lathetest.Options{Agents: 2}
			if x.goBuild {
				opts.Executor = executor.Options{Kind: executor.KindShell}
				opts.PassEnv = []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOTOOLCHAIN"}
				for _, v := range []string{"GOCACHE", "GOMODCACHE"} {
					setGoEnv(t, v)
				}
			}
			l := lathetest.Start(t, opts)
			l.Project(t, "example", repo)
			var run lathe.Run
			body := map[string]any{"pipeline": x.pipeline}
			if x.params != nil {
				body["params"] = x.params
			}
			if x.pipeline != "" {
				l.Do(t, http.MethodPost, "/api/v1/projects/example/runs", body, &run)
			} else {
				// Without a pipeline every pipeline the request selects
				// starts: an example has one.
				var started struct {
					Items  []lathe.Run `json:"items"`
					Errors []string    `json:"errors"`
				}
				l.Do(t, http.MethodPost, "/api/v1/projects/example/runs", body, &started)
				if len(started.Items) != 1 {
					t.Fatalf("started %d runs (errors %q); want the example's one", len(started.Items), started.Errors)
				}
				run = started.Items[0]
			}
			done := waitApproving(t, l, run.ID, x.approve)
			serverJobs := map[string]lathe.Status{}
			for _, j := range done.Jobs {
				serverJobs[j.Name] = j.Status
			}
			if fmt.Sprint(serverJobs) != fmt.Sprint(execJobs) {
				t.Errorf("jobs on the server %v; under exec %v\nexec's output:\n%s", serverJobs, execJobs, out)
				for _, j := range done.Jobs {
					if j.Status != lathe.StatusSuccess {
						t.Logf("server's log of %s:\n%s", j.Name, l.Log(t, j.ID))
					}
				}
			}
			for _, name := range x.jobs {
				if execJobs[name] != lathe.StatusSuccess {
					t.Errorf("job %s = %s; want success", name, execJobs[name])
				}
			}
		})
	}
}

// waitApproving waits for the run to end, approving each job that waits at
// its gate when approve is set (as `lathe exec --approve` does), and
// returns the finished run.
func waitApproving(t *testing.T, l *lathetest.Lathe, runID int64, approve bool) *lathe.Run {
	t.Helper()
	approved := map[int64]bool{}
	for range 3000 { // 5 minutes at most
		r := l.Run(t, runID)
		if r.Status.Terminal() {
			return r
		}
		waiting := false
		for _, j := range r.Jobs {
			if j.Status == lathe.StatusWaiting && approve && !approved[j.ID] {
				l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/approve", j.ID), nil, nil)
				approved[j.ID] = true
			}
			waiting = waiting || j.Status == lathe.StatusWaiting && !approve
		}
		if waiting {
			// exec skips a gate it may not answer: cancel what waits, and
			// compare the rest.
			t.Fatalf("run %d waits at a gate the example does not approve", runID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("run %d did not finish", runID)
	return nil
}

// exampleFiles reads an example directory as path → content.
func exampleFiles(t *testing.T, name string) map[string]string {
	t.Helper()
	files := map[string]string{}
	root := filepath.Join("..", "examples", name)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// setGoEnv sets v to what `go env` says, so jobs that get the test's
// environment share its Go caches.
func setGoEnv(t *testing.T, v string) {
	t.Helper()
	out, err := exec.Command("go", "env", v).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", v, err)
	}
	t.Setenv(v, strings.TrimSpace(string(out)))
}
