package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// policyPipeline has a job that fails once and is retried, a job allowed
// to fail, and a deploy behind an approval gate.
func policyPipeline(marker string) string {
	return fmt.Sprintf(`
stages: [test, deploy]
jobs:
  flaky:
    stage: test
    retry: {count: 2, on: [failure]}
    steps:
      - if [ -f %[1]q ]; then echo second try; else touch %[1]q; echo first try; exit 1; fi
  lint:
    stage: test
    allow_failure: true
    steps: [echo style problems; exit 3]
  deploy:
    stage: deploy
    environment: production
    approval: {from: [release-managers], message: "Ship it?"}
    steps: [echo deployed]
  notify:
    stage: deploy
    needs: [deploy]
    steps: [echo notified]
`, marker)
}

// Retries, allowed failures and approval gates work on the server: a failure
// is retried as a new attempt, an allowed failure neither fails the run nor
// skips what follows, and a gated job waits until someone approves it.
func TestRetryAllowFailureAndApproval(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		// The marker file outside the workspace that remembers across
		// attempts and runs needs the shell executor (a sandbox hides it).
		o.Executor = executor.Options{Kind: executor.KindShell}
		l := lathetest.Start(t, o)
		l.Project(t, "pol", lathetest.Repo(t, map[string]string{".lathe.yml": policyPipeline(filepath.Join(t.TempDir(), "marker"))}))
		run := l.Trigger(t, "pol", "", "")
		var deploy *lathe.Job
		waitFor(t, 60*time.Second, "deploy to wait for approval", func() bool {
			deploy = lathetest.JobByName(t, l.Run(t, run.ID), "deploy")
			return deploy.Status == lathe.StatusWaiting
		})
		r := l.Run(t, run.ID)
		if r.Status != lathe.StatusRunning && r.Status != lathe.StatusWaiting {
			t.Errorf("run while the gate is shut = %s", r.Status)
		}
		flaky := l.Job(t, lathetest.JobByName(t, r, "flaky").ID)
		if flaky.Status != lathe.StatusSuccess || len(flaky.Attempts) != 2 || flaky.Attempts[0].Status != lathe.StatusFailed {
			t.Errorf("flaky = %s with %d attempts; want success on the second, the first failed", flaky.Status, len(flaky.Attempts))
		}
		if lint := lathetest.JobByName(t, r, "lint"); lint.Status != lathe.StatusFailed || !lint.AllowFailure {
			t.Errorf("lint = %s (allow_failure %v); want failed and allowed", lint.Status, lint.AllowFailure)
		}
		if deploy.Approval == nil || deploy.Approval.Message != "Ship it?" || deploy.Environment != "production" {
			t.Errorf("deploy = %+v; want its approval and environment", deploy)
		}
		if n := lathetest.JobByName(t, r, "notify"); n.Status != lathe.StatusPending {
			t.Errorf("notify behind the gate = %s; want pending", n.Status)
		}
		err := l.Client.Do(context.Background(), http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/approve", flaky.ID), nil, nil)
		wantStatus(t, err, http.StatusConflict, "approve a job that is not waiting")

		var out bytes.Buffer
		env := &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		if code := cli.Run(context.Background(), []string{"approve", fmt.Sprint(deploy.ID), "--server", l.URL, "--token", l.AdminToken}, env); code != 0 {
			t.Fatalf("lathe approve: %d\n%s", code, out.String())
		}
		done := l.Wait(t, run.ID, 60*time.Second)
		if done.Status != lathe.StatusSuccess {
			t.Errorf("run after approval = %s; want success (lint may fail)", done.Status)
		}
		d := l.Job(t, deploy.ID)
		if d.Status != lathe.StatusSuccess || d.Approval.ApprovedBy == "" || d.Approval.ApprovedAt == nil {
			t.Errorf("deploy after approval = %s, approval %+v", d.Status, d.Approval)
		}
		if n := lathetest.JobByName(t, done, "notify"); n.Status != lathe.StatusSuccess {
			t.Errorf("notify = %s", n.Status)
		}

		// Rejecting the gate of the next run cancels deploy and skips notify.
		run2 := l.Trigger(t, "pol", "", "")
		waitFor(t, 60*time.Second, "the second deploy to wait", func() bool {
			deploy = lathetest.JobByName(t, l.Run(t, run2.ID), "deploy")
			return deploy.Status == lathe.StatusWaiting
		})
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/reject", deploy.ID), nil, nil)
		done = l.Wait(t, run2.ID, 60*time.Second)
		if got := lathetest.JobByName(t, done, "deploy").Status; got != lathe.StatusCanceled || done.Status != lathe.StatusCanceled ||
			lathetest.JobByName(t, done, "notify").Status != lathe.StatusSkipped {
			t.Errorf("after reject: run %s, deploy %s, notify %s", done.Status, got, lathetest.JobByName(t, done, "notify").Status)
		}
		if !strings.Contains(l.Log(t, lathetest.JobByName(t, done, "flaky").ID), "second try") {
			t.Errorf("flaky in run 2 did not find the marker")
		}
	})
}

// An approval gate's `from` names who may answer it: a user with write who
// is not named (nor in a named team) is refused; a member of the named team
// approves, and is recorded as the approver.
func TestApprovalFromNamesWhoMayApprove(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "gate", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  deploy:
    approval: {from: ["@release-managers"]}
    steps: [echo deployed]
`}))
	for _, u := range []string{"ann", "bob"} {
		l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": u, "password": u + "-password-1"}, nil)
		l.Do(t, http.MethodPut, "/api/v1/projects/gate/members/users/"+u, map[string]string{"role": "write"}, nil)
	}
	l.Do(t, http.MethodPost, "/api/v1/teams", map[string]string{"name": "release-managers"}, nil)
	l.Do(t, http.MethodPost, "/api/v1/teams/release-managers/members", map[string]string{"user": "ann"}, nil)

	run := l.Trigger(t, "gate", "", "")
	var job *lathe.Job
	waitFor(t, 30*time.Second, "deploy to wait", func() bool {
		job = lathetest.JobByName(t, l.Run(t, run.ID), "deploy")
		return job.Status == lathe.StatusWaiting
	})
	path := fmt.Sprintf("/api/v1/jobs/%d/approve", job.ID)
	err := l.ClientAs(t, login(t, l, "bob", "bob-password-1")).Do(context.Background(), http.MethodPost, path, nil, nil)
	wantStatus(t, err, http.StatusForbidden, "approval by a writer outside release-managers")
	if err := l.ClientAs(t, login(t, l, "ann", "ann-password-1")).Do(context.Background(), http.MethodPost, path, nil, nil); err != nil {
		t.Fatalf("approval by a member of release-managers: %v", err)
	}
	l.Wait(t, run.ID, 60*time.Second)
	if j := l.Job(t, job.ID); j.Status != lathe.StatusSuccess || j.Approval.ApprovedBy != "ann" {
		t.Errorf("deploy = %s approved by %q; want success approved by ann", j.Status, j.Approval.ApprovedBy)
	}
}
