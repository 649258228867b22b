package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// `logs -f` and `status` say why a job waits (here: at an approval gate,
// and who may open it) and show job IDs; `approve RUN JOB_NAME` opens the
// gate by the job's name (`approve RUN` alone names them), and the
// follower goes on to the end.
func TestWaitsAreExplainedAndGatesTakeJobNames(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  build:
    steps: [true]
  deploy:
    needs: [build]
    approval: {from: [admin], message: "Ship it?"}
    steps: [echo shipped]
`}))
	run := l.Trigger(t, "shop", "", "")
	id := fmt.Sprint(run.ID)
	var follow lathetest.SyncBuffer
	done := make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	t.Cleanup(func() { cancel(); wg.Wait() })
	go func() {
		defer wg.Done()
		env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &follow, Stderr: &follow, Getenv: func(string) string { return "" }}
		done <- cli.Run(ctx, []string{"logs", "-f", id, "--server", l.URL, "--token", l.AdminToken}, env)
	}()
	var deploy *lathe.Job
	for i := 0; i < 600 && (deploy == nil || deploy.Status != lathe.StatusWaiting); i++ {
		time.Sleep(100 * time.Millisecond)
		for _, j := range l.Run(t, run.ID).Jobs {
			if j.Name == "deploy" {
				deploy = j
			}
		}
	}
	if deploy == nil || deploy.Status != lathe.StatusWaiting {
		t.Fatalf("the deploy job never reached its gate: %+v", deploy)
	}
	status := runCLI(t, l, []string{"status", id})
	for _, want := range []string{"approval from admin: Ship it?", "lathe approve " + id + " deploy", fmt.Sprintf(" deploy  %d ", deploy.ID)} {
		if !strings.Contains(status, want) {
			t.Errorf("status does not show %q:\n%s", want, status)
		}
	}
	for i := 0; i < 600 && !strings.Contains(follow.String(), "[deploy] waiting: approval from admin"); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(follow.String(), "[deploy] waiting: approval from admin: Ship it?") {
		t.Fatalf("logs -f did not say why deploy waits:\n%s", follow.String())
	}
	if run.ID != deploy.ID {
		// One number reads as a job ID; when it is this run's, the refusal names the jobs at the gate.
		cov2Refused(t, l, 1, fmt.Sprintf("run %d has jobs waiting for approval:\n  lathe approve %d \"deploy\"", run.ID, run.ID), "approve", id)
	}
	if out := runCLI(t, l, []string{"approve", id, "deploy"}); !strings.Contains(out, fmt.Sprintf("job %d (deploy) approved", deploy.ID)) {
		t.Errorf("approve RUN deploy printed %q", out)
	}
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(follow.String(), "[deploy] shipped") {
			t.Errorf("logs -f: exit %d\n%s", code, follow.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("logs -f did not end after the gate opened:\n%s", follow.String())
	}
}

// A job waiting for a semaphore names the run that holds it, in lathe
// status and lathe jobs.
func TestSemaphoreWaitNamesTheHolder(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: 2})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  deploy:
    concurrency: {group: prod, limit: 1}
    steps: [sleep 30]
`}))
	first, second := l.Trigger(t, "shop", "", ""), l.Trigger(t, "shop", "", "")
	t.Cleanup(func() {
		for _, r := range []*lathe.Run{first, second} {
			l.Client.Do(context.Background(), http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", r.ID), nil, nil)
		}
	})
	want := fmt.Sprintf("waiting for semaphore prod (1/1 held) — run %d holds it", first.ID)
	var reason string
	for i := 0; i < 300 && reason != want; i++ {
		time.Sleep(100 * time.Millisecond)
		reason = l.Run(t, second.ID).Jobs[0].WaitReason
	}
	if reason != want {
		t.Fatalf("the second run's job waits for %q, want %q", reason, want)
	}
	for _, args := range [][]string{{"status", fmt.Sprint(second.ID)}, {"jobs", "--status", "queued"}} {
		if out := runCLI(t, l, args); !strings.Contains(out, want) {
			t.Errorf("lathe %s does not say %q:\n%s", strings.Join(args, " "), want, out)
		}
	}
}
