package server_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// Stopping and starting the server on the same data directory keeps the
// projects, runs, logs and admin token; numbering continues.
func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps: [echo persisted]\n"})
	l := lathetest.Start(t, lathetest.Options{DataDir: dir})
	l.Project(t, "keep", repo)
	first := l.Wait(t, l.Trigger(t, "keep", "", "").ID, 30*time.Second)
	token := l.AdminToken
	l.Stop()

	info, err := os.Stat(filepath.Join(dir, "admin.token"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token: %v, mode %v; want mode 0600", err, info.Mode())
	}
	// The data files are ignored by git, in case the data directory is a checkout's .lathe/.
	lathetest.Git(t, dir, "init", "-q")
	if out := lathetest.Git(t, dir, "status", "--porcelain", "--untracked-files=all"); out != "?? .gitignore\n" {
		t.Errorf("git sees data files in the data directory:\n%s", out)
	}
	os.RemoveAll(filepath.Join(dir, ".git"))

	l = lathetest.Start(t, lathetest.Options{DataDir: dir})
	if l.AdminToken != token {
		t.Errorf("admin token changed across restart")
	}
	if l.Server.AdminToken != "" {
		t.Errorf("the restarted server knows the admin token; it must not read it back from its file")
	}
	again := l.Run(t, first.ID)
	if again.Status != lathe.StatusSuccess || len(again.Jobs) != 1 {
		t.Fatalf("run after restart: %+v", again)
	}
	if log := l.Log(t, again.Jobs[0].ID); !strings.Contains(log, "persisted\n") {
		t.Errorf("log after restart: %q", log)
	}
	if second := l.Wait(t, l.Trigger(t, "keep", "", "").ID, 30*time.Second); second.Number != 2 || second.Status != lathe.StatusSuccess {
		t.Errorf("run after restart: number %d status %s", second.Number, second.Status)
	}
}

// `lathe run --follow` prints the live logs and exits 0 when the run
// succeeds and 1 when it fails; `lathe logs` prints them afterwards.
func TestCLIRunFollow(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, map[string]string{
		".lathe/good.yml": "jobs:\n  hello:\n    steps: [echo hello from the cli]\n",
		".lathe/bad.yml":  "jobs:\n  boom:\n    steps: [echo going down, exit 1]\n",
	})
	env := func() (*cli.Env, *bytes.Buffer) {
		var out bytes.Buffer
		return &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}, &out
	}
	lathecli := func(args ...string) (int, string) {
		e, out := env()
		args = append(args, "--server", l.URL, "--token", l.AdminToken)
		return cli.Run(context.Background(), args, e), out.String()
	}
	if code, out := lathecli("project", "create", "cli", repo); code != 0 {
		t.Fatalf("project create: %d %s", code, out)
	}
	code, out := lathecli("run", "cli", "--pipeline", "good", "--follow")
	if code != 0 || !strings.Contains(out, "[hello] hello from the cli\n") || !strings.Contains(out, "success") {
		t.Errorf("run --follow good: exit %d\n%s", code, out)
	}
	code, out = lathecli("run", "cli", "--pipeline", "bad", "--follow")
	if code != 1 || !strings.Contains(out, "[boom] going down\n") || !strings.Contains(out, "failed") {
		t.Errorf("run --follow bad: exit %d\n%s", code, out)
	}
	runID := strings.Fields(strings.TrimPrefix(out, "run "))[0]
	runID = strings.TrimSuffix(runID, ":")
	code, out = lathecli("logs", runID)
	if code != 0 || !strings.Contains(out, "[boom] going down\n") {
		t.Errorf("logs %s: exit %d\n%s", runID, code, out)
	}
	code, out = lathecli("logs", "-f", runID)
	if code != 1 || !strings.Contains(out, "[boom] going down\n") {
		t.Errorf("logs -f of a failed run: exit %d\n%s", code, out)
	}
	// Without --pipeline every pipeline that runs on manual requests starts.
	if code, out := lathecli("run", "cli"); code != 0 || strings.Count(out, "run ") != 2 || !strings.Contains(out, "good #2") || !strings.Contains(out, "bad #2") {
		t.Errorf("run without --pipeline when there are two: exit %d\n%s", code, out)
	}
	if code, out := lathecli("run", "cli", "--follow"); code != 1 || !strings.Contains(out, "2 runs started; follow one") {
		t.Errorf("run --follow without --pipeline when there are two: exit %d\n%s", code, out)
	}
}

// A broken pipeline file is refused with every error and its position.
func TestBrokenPipelineIsRefusedWithPositions(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "broken", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    needs: [nope]\n    steps: [true]\n"}))
	err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/broken/runs", map[string]string{}, nil)
	ce, ok := err.(*client.Error)
	if !ok || ce.Status != http.StatusUnprocessableEntity || len(ce.Errors) == 0 {
		t.Fatalf("trigger with broken pipeline: %v", err)
	}
	e := ce.Errors[0]
	if e.File != ".lathe.yml" || e.Line != 3 || !strings.Contains(e.Message, "nope") {
		t.Errorf("error = %+v, want .lathe.yml line 3 naming the unknown job", e)
	}
	var page lathe.Page[*lathe.Run]
	l.Do(t, http.MethodGet, "/api/v1/runs", nil, &page)
	if len(page.Items) != 0 {
		t.Errorf("a refused trigger stored %d runs", len(page.Items))
	}
}

// Canceling a run stops its running step's whole process group and cancels
// the jobs that had not started.
func TestCancelRunStopsProcessesAndQueuedJobs(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Grace: 500 * time.Millisecond})
	l.Project(t, "cancel", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  long:
    steps:
      - sleep 307 & echo started; wait
  after:
    needs: [long]
    steps: [echo never]
`}))
	run := l.Trigger(t, "cancel", "", "")
	// The step runs in a PID namespace of its own: find its sleep from outside.
	deadline := time.Now().Add(30 * time.Second)
	var pids []int
	for len(pids) == 0 {
		if pids = lathetest.Processes("sleep", "307"); len(pids) > 1 {
			t.Fatalf("%d `sleep 307` processes", len(pids))
		}
		if time.Now().After(deadline) {
			t.Fatal("the step never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid := pids[0]
	l.Do(t, http.MethodPost, "/api/v1/runs/"+strconv.FormatInt(run.ID, 10)+"/cancel", nil, nil)
	done := l.Wait(t, run.ID, 30*time.Second)
	if done.Status != lathe.StatusCanceled {
		t.Errorf("run = %s, want canceled", done.Status)
	}
	for _, j := range done.Jobs {
		if j.Status != lathe.StatusCanceled {
			t.Errorf("job %s = %s, want canceled", j.Name, j.Status)
		}
	}
	if err := syscall.Kill(pid, 0); err == nil {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the step's background sleep (pid %d) survived the cancel", pid)
	}
	err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/runs/"+strconv.FormatInt(run.ID, 10)+"/cancel", nil, nil)
	if client.StatusOf(err) != http.StatusConflict {
		t.Errorf("canceling a finished run: %v, want 409", err)
	}
}

// `lathe up` defaults to a relative data directory (./.lathe): the server
// and its git mirrors must work from it, whatever directory git runs in.
func TestRelativeDataDirectory(t *testing.T) {
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  hi:\n    steps: [echo hello]\n"})
	t.Chdir(t.TempDir())
	l := lathetest.Start(t, lathetest.Options{DataDir: ".lathe"})
	l.Project(t, "rel", repo)
	if run := l.Wait(t, l.Trigger(t, "rel", "", "").ID, 60*time.Second); run.Status != lathe.StatusSuccess {
		t.Errorf("run with a relative data directory = %s", run.Status)
	}
}
