package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/server"
)

// deployPipeline's deploy job holds the semaphore prod. Its step takes a
// lock directory shared by all agents on this machine (mkdir is atomic) and
// fails if another deploy holds it, so two deploys running at once fail.
func deployPipeline(lock string) string {
	return fmt.Sprintf(`
jobs:
  deploy:
    concurrency: prod
    steps:
      - mkdir %[1]q || { echo "another deploy is running"; exit 1; }
      - sleep 1
      - rmdir %[1]q
`, lock)
}

// Runs of a pipeline whose deploy job holds a semaphore of limit 1 never
// deploy at once, though agents are free to: while one deploys, the API shows
// it holding the semaphore and the others waiting, queued with a reason.
func TestSemaphoreKeepsDeploysOfConcurrentRunsApart(t *testing.T) {
	const runs = 3
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		// The deploys share a lock file to show they never overlap: jobs
		// that share a host file need the shell executor.
		l := startLifecycle(t, o, server.Config{Agents: 3, Heartbeat: 300 * time.Millisecond, Grace: time.Second,
			SweepInterval: 200 * time.Millisecond, Executor: executor.Options{Kind: executor.KindShell}})
		lock := filepath.Join(t.TempDir(), "deploy.lock")
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": deployPipeline(lock)})
		l.Project(t, "shop", repo)
		var ids []int64
		for range runs {
			ids = append(ids, l.Trigger(t, "shop", "", "").ID)
		}

		// While the runs go on, the semaphore has one holder and waiters.
		var sem lathe.Semaphore
		waitFor(t, 30*time.Second, "a holder and a waiter of semaphore prod", func() bool {
			l.Do(t, http.MethodGet, "/api/v1/projects/shop/semaphores/prod", nil, &sem)
			return len(sem.Holders) == 1 && len(sem.Waiters) >= 1
		})
		if sem.Limit != 1 || sem.Project != "shop" || sem.Holders[0].Job != "deploy" || sem.Holders[0].Agent == "" {
			t.Errorf("semaphore = %+v", sem)
		}
		waiter := l.Job(t, sem.Waiters[0].JobID)
		if waiter.Status != lathe.StatusQueued {
			t.Errorf("waiting job is %s, want queued", waiter.Status)
		}
		waitFor(t, 10*time.Second, "the waiting job's wait reason", func() bool {
			j := l.Job(t, sem.Waiters[0].JobID)
			return j.Status != lathe.StatusQueued || strings.HasPrefix(j.WaitReason, "waiting for semaphore prod (1/1 held)")
		})

		var out bytes.Buffer
		env := &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		if code := cli.Run(context.Background(), []string{"semaphores", "shop", "--server", l.URL, "--token", l.AdminToken}, env); code != 0 ||
			!strings.Contains(out.String(), "prod") || !strings.Contains(out.String(), "holding") {
			t.Errorf("lathe semaphores shop = %d:\n%s", code, out.String())
		}

		type span struct{ start, end time.Time }
		var spans []span
		for _, id := range ids {
			run := l.Wait(t, id, 60*time.Second)
			if run.Status != lathe.StatusSuccess {
				t.Fatalf("run %d = %s; want success (a failed deploy means two ran at once)", run.Number, run.Status)
			}
			j := l.Job(t, lathetest.JobByName(t, run, "deploy").ID)
			a := j.Attempts[len(j.Attempts)-1]
			spans = append(spans, span{*a.StartedAt, *a.FinishedAt})
		}
		for i := range spans {
			for k := i + 1; k < len(spans); k++ {
				if spans[i].start.Before(spans[k].end) && spans[k].start.Before(spans[i].end) {
					t.Errorf("deploys %d and %d overlap: %v–%v and %v–%v", i+1, k+1,
						spans[i].start, spans[i].end, spans[k].start, spans[k].end)
				}
			}
		}
		l.Do(t, http.MethodGet, "/api/v1/projects/shop/semaphores/prod", nil, &sem)
		if len(sem.Holders) != 0 || len(sem.Waiters) != 0 {
			t.Errorf("semaphore after the runs = %+v; want it free", sem)
		}
	})
}

// A hold keeps the workspace of the next failure of its job on the agent,
// with the checkout and what the job wrote, and shows where; the next
// failure, the hold spent, is cleaned up as usual; and once the hold's time
// is up the agent deletes the workspace it kept.
func TestHoldKeepsTheWorkspaceOfAFailedJobUntilItExpires(t *testing.T) {
	l := startLifecycle(t, lathetest.Options{}, server.Config{SweepInterval: 200 * time.Millisecond})
	agentDir := t.TempDir()
	l.StartAgent(t, l.RegistrationToken(t), "holder", agentDir, "linux")
	repo := lathetest.Repo(t, map[string]string{
		"README.md":  "checked out\n",
		".lathe.yml": "jobs:\n  test:\n    steps:\n      - echo evidence > result.txt\n      - exit 3\n",
	})
	l.Project(t, "shop", repo)

	var h lathe.Hold
	l.Do(t, http.MethodPost, "/api/v1/projects/shop/holds",
		map[string]any{"pipeline": "main", "job": "test", "duration": "3s", "reason": "flaky test"}, &h)
	if h.Count != 1 || h.DurationSec != 3 || h.Reason != "flaky test" {
		t.Fatalf("created hold = %+v; want count 1 for 3s", h)
	}

	run := l.Wait(t, l.Trigger(t, "shop", "", "").ID, 60*time.Second)
	if run.Status != lathe.StatusFailed {
		t.Fatalf("run = %s, want failed", run.Status)
	}
	att := l.Job(t, lathetest.JobByName(t, run, "test").ID).Attempts[0]
	if att.HeldUntil == nil || att.HeldPath == "" || !filepath.IsAbs(att.HeldPath) {
		t.Fatalf("failed attempt = held until %v at %q; want held at an absolute path", att.HeldUntil, att.HeldPath)
	}
	if !strings.HasPrefix(att.HeldPath, agentDir) {
		t.Errorf("held path %s is not in the agent's work directory %s", att.HeldPath, agentDir)
	}
	for name, want := range map[string]string{"README.md": "checked out\n", "result.txt": "evidence\n"} {
		if b, err := os.ReadFile(filepath.Join(att.HeldPath, name)); err != nil || string(b) != want {
			t.Errorf("held workspace %s = %q, %v; want %q", name, b, err, want)
		}
	}
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/projects/shop/holds/%d", h.ID), nil, &h)
	if h.Count != 0 || len(h.Held) != 1 || h.Held[0].AttemptID != att.ID || h.Held[0].Path != att.HeldPath ||
		h.Held[0].Agent != "holder" || !h.Held[0].ExpiresAt.Equal(*att.HeldUntil) {
		t.Fatalf("hold = %+v; want count 0 holding attempt %d at %s on holder", h, att.ID, att.HeldPath)
	}

	// The hold is spent: the next failure's workspace goes as usual.
	run2 := l.Wait(t, l.Trigger(t, "shop", "", "").ID, 60*time.Second)
	att2 := l.Job(t, lathetest.JobByName(t, run2, "test").ID).Attempts[0]
	if att2.HeldUntil != nil {
		t.Errorf("second failure held until %v by a spent hold", att2.HeldUntil)
	}
	waitFor(t, 10*time.Second, "the second failure's workspace to be deleted", func() bool {
		_, err := os.Stat(filepath.Join(agentDir, "ws", fmt.Sprint(att2.ID)))
		return os.IsNotExist(err)
	})

	var out bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if code := cli.Run(context.Background(), []string{"hold", "list", "shop", "--server", l.URL, "--token", l.AdminToken}, env); code != 0 ||
		!strings.Contains(out.String(), att.HeldPath) {
		t.Errorf("lathe hold list shop = %d:\n%s", code, out.String())
	}

	waitFor(t, 15*time.Second, "the held workspace to be deleted after it expired", func() bool {
		_, err := os.Stat(att.HeldPath)
		return os.IsNotExist(err)
	})
	if time.Now().Before(*att.HeldUntil) {
		t.Errorf("held workspace deleted before %v", att.HeldUntil)
	}
	// The record goes just after the workspace it describes.
	waitFor(t, 5*time.Second, "the held record to be removed after expiry", func() bool {
		left, _ := filepath.Glob(filepath.Join(agentDir, "held", "*"))
		return len(left) == 0
	})

	out.Reset()
	if code := cli.Run(context.Background(), []string{"hold", "delete", "shop", fmt.Sprint(h.ID), "--server", l.URL, "--token", l.AdminToken}, env); code != 0 {
		t.Errorf("lathe hold delete = %d:\n%s", code, out.String())
	}
	var list struct{ Items []lathe.Hold }
	l.Do(t, http.MethodGet, "/api/v1/projects/shop/holds", nil, &list)
	if len(list.Items) != 0 {
		t.Errorf("holds after delete = %+v", list.Items)
	}
}

// Creating a hold checks its request.
func TestHoldRequestErrors(t *testing.T) {
	l := startLifecycle(t, lathetest.Options{}, server.Config{})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [x]\n"}))
	for _, c := range []struct {
		body   map[string]any
		status int
	}{
		{map[string]any{"job": "test", "duration": "1h"}, 400},
		{map[string]any{"pipeline": "main", "job": "test", "duration": "soon"}, 400},
		{map[string]any{"pipeline": "main", "job": "test", "duration": "1h", "count": 0}, 400},
		{map[string]any{"pipeline": "main", "job": "test", "duration": "9000h"}, 400},
		{map[string]any{"pipeline": "main", "job": "test", "duration": "1h", "color": "red"}, 400},
	} {
		err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/shop/holds", c.body, nil)
		wantStatus(t, err, c.status, fmt.Sprintf("hold %v", c.body))
	}
	wantStatus(t, l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/nope/holds",
		map[string]any{"pipeline": "main", "job": "test", "duration": "1h"}, nil), 404, "hold of an unknown project")
	wantStatus(t, l.Client.Do(context.Background(), http.MethodGet, "/api/v1/projects/shop/holds/999", nil, nil), 404, "unknown hold")
	wantStatus(t, l.Client.Do(context.Background(), http.MethodGet, "/api/v1/projects/shop/semaphores/none", nil, nil), 404, "unknown semaphore")
}
