package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/server"
)

// forkRepo has a pipeline for pull requests and one that runs after it;
// both name a secret and print whether they got it.
func forkRepo(t *testing.T) string {
	return lathetest.Repo(t, map[string]string{
		".lathe/pr.yml": `
on:
  pull_request: {branches: [main]}
jobs:
  test:
    secrets: [API_KEY]
    steps: ['echo "key=[${API_KEY:-none}]"']
`,
		".lathe/after.yml": `
on:
  pipeline: {after: [pr]}
jobs:
  ship:
    secrets: [API_KEY]
    steps: ['echo "key=[${API_KEY:-none}]"']
`,
	})
}

// forkHook sets up project name with repo (see forkRepo) and its secret,
// and returns a function that posts a fork's pull request to its webhook.
func forkHook(t *testing.T, l *lathetest.Lathe, name, repo string) func() *lathe.Run {
	l.Project(t, name, repo)
	l.Do(t, http.MethodPost, "/api/v1/projects/"+name+"/secrets", map[string]string{"name": "API_KEY", "value": "very-secret-value"}, nil)
	var tok lathe.HookToken
	l.Do(t, http.MethodPost, "/api/v1/projects/"+name+"/hook-tokens", map[string]string{"name": "forge"}, &tok)
	pr := map[string]any{"ref": "main", "event": "pull_request", "base": "main", "fork": true}
	return func() *lathe.Run {
		t.Helper()
		var out struct{ Items []*lathe.Run }
		if err := l.ClientAs(t, "").Do(context.Background(), http.MethodPost, "/api/v1/hooks/"+tok.Token, pr, &out); err != nil || len(out.Items) != 1 {
			t.Fatalf("fork pull request: %v, %d runs", err, len(out.Items))
		}
		return out.Items[0]
	}
}

// wantAtGate checks, right after the call that decided it, that the run's
// job is back at its gate: waiting, not queued or run.
func wantAtGate(t *testing.T, l *lathetest.Lathe, jobID int64, what string) {
	t.Helper()
	if j := l.Job(t, jobID); j.Status != lathe.StatusWaiting {
		t.Errorf("%s: job %s is %s with %d attempts; want %s", what, j.Name, j.Status, len(j.Attempts), lathe.StatusWaiting)
	}
}

// cancelRun cancels a run and waits until it is over.
func cancelRun(t *testing.T, l *lathetest.Lathe, runID int64) {
	t.Helper()
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", runID), nil, nil)
	if r := l.Wait(t, runID, 30*time.Second); r.Status != lathe.StatusCanceled {
		t.Fatalf("canceled run %d = %s", runID, r.Status)
	}
}

// A fork's run keeps its trust whatever route its code takes next: a
// re-run of its failed jobs, of one job or of the whole run waits at the
// trust gate again, a job's own approval cannot open that gate, and once a
// writer approves the commit the code runs — still without secrets, and so
// do the pipelines it triggers.
func TestTrustFollowsTheCodeIntoReRunsAndDownstreamRuns(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := startLifecycle(t, o, server.Config{Agents: 2, ChainInterval: 100 * time.Millisecond})
		hook := forkHook(t, l, "oss", forkRepo(t))
		ctx := context.Background()

		run := hook()
		test := lathetest.JobByName(t, l.Run(t, run.ID), "test")
		wantAtGate(t, l, test.ID, "fork's new run")
		err := l.Client.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/approve", test.ID), nil, nil)
		wantStatus(t, err, http.StatusConflict, "approving a job behind the trust gate as if it were its own gate")
		wantAtGate(t, l, test.ID, "after a job approval was refused")

		// Every kind of re-run makes a new run, untrusted like its parent,
		// whose jobs wait at the trust gate again.
		rerunAtGate := func(path string, parent *lathe.Run, what string) *lathe.Run {
			t.Helper()
			var again lathe.Run
			l.Do(t, http.MethodPost, path, nil, &again)
			if !again.Untrusted || again.ParentID == nil || *again.ParentID != parent.ID {
				t.Errorf("%s: run %d untrusted %v, parent %v; want an untrusted re-run of run %d", what, again.ID, again.Untrusted, again.ParentID, parent.ID)
			}
			wantAtGate(t, l, lathetest.JobByName(t, l.Run(t, again.ID), "test").ID, what)
			cancelRun(t, l, again.ID)
			return &again
		}
		cancelRun(t, l, run.ID)
		failedAgain := rerunAtGate(fmt.Sprintf("/api/v1/runs/%d/rerun-failed", run.ID), run, "rerun-failed of the canceled fork run")
		rerunAtGate(fmt.Sprintf("/api/v1/jobs/%d/rerun", test.ID), run, "rerun of the fork run's job")

		var child lathe.Run
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun", run.ID), nil, &child)
		if !child.Untrusted {
			t.Errorf("re-run of a fork's run is trusted; want untrusted like its parent")
		}
		wantAtGate(t, l, lathetest.JobByName(t, l.Run(t, child.ID), "test").ID, "whole re-run of the fork run")

		// A writer approves the commit: the re-run goes on, without secrets.
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/approve", child.ID), nil, nil)
		done := l.Wait(t, child.ID, 60*time.Second)
		if log := l.Log(t, lathetest.JobByName(t, done, "test").ID); done.Status != lathe.StatusSuccess || !strings.Contains(log, "key=[none]") {
			t.Fatalf("approved re-run = %s, log %q; want success without the secret", done.Status, log)
		}

		after := l.Wait(t, waitForRun(t, l, "oss", "after").ID, 60*time.Second)
		log := l.Log(t, lathetest.JobByName(t, after, "ship").ID)
		if !after.Untrusted || after.Status != lathe.StatusSuccess || !strings.Contains(log, "key=[none]") {
			t.Errorf("downstream of the fork's run: untrusted %v, %s, log %q; want untrusted, success, no secret",
				after.Untrusted, after.Status, log)
		}

		// A run canceled at the gate re-runs under the commit's approval
		// given since: its re-run runs, and stays untrusted.
		var again lathe.Run
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun-failed", failedAgain.ID), nil, &again)
		if j := lathetest.JobByName(t, l.Run(t, again.ID), "test"); j.Status == lathe.StatusWaiting {
			t.Fatalf("re-run of the fork run after its commit was approved still waits at the trust gate")
		}
		done = l.Wait(t, again.ID, 60*time.Second)
		if log := l.Log(t, lathetest.JobByName(t, done, "test").ID); !done.Untrusted || done.Status != lathe.StatusSuccess || !strings.Contains(log, "key=[none]") {
			t.Errorf("re-run of the approved commit: untrusted %v, %s, log %q; want untrusted, success, no secret", done.Untrusted, done.Status, log)
		}
	})
}

// A fork's run deploys nowhere the server tracks, even once a writer
// approved its commit: its job that names an environment gets none of
// the environment's variables, records no deployment (which would show
// the fork's commit as what runs there) and takes no lock (which would
// hold up the real deployments).
func TestAForkRunDeploysNowhere(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		hook := forkHook(t, l, "oss", lathetest.Repo(t, map[string]string{".lathe/pr.yml": `
on:
  pull_request: {branches: [main]}
jobs:
  preview:
    environment: staging
    steps: ['echo "greeting=[${GREETING:-none}]"']
`}))
		const base = "/api/v1/projects/oss"
		l.Do(t, http.MethodPost, base+"/environments", map[string]any{"name": "staging", "position": 1}, nil)
		l.Do(t, http.MethodPut, base+"/environments/staging/variables/GREETING", map[string]any{"value": "hello"}, nil)

		run := hook()
		job := lathetest.JobByName(t, l.Run(t, run.ID), "preview")
		if job.Concurrency != nil {
			t.Errorf("fork's deploy job holds %+v; want no environment lock", job.Concurrency)
		}
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/approve", run.ID), nil, nil)
		done := l.Wait(t, run.ID, 60*time.Second)
		if log := l.Log(t, job.ID); done.Status != lathe.StatusSuccess || !strings.Contains(log, "greeting=[none]") {
			t.Fatalf("approved fork run = %s, log %q; want success without staging's variables", done.Status, log)
		}
		var hist struct{ Items []lathe.Deployment }
		l.Do(t, http.MethodGet, base+"/environments/staging/deployments", nil, &hist)
		if len(hist.Items) != 0 {
			t.Errorf("staging's deployments after a fork's run = %+v; want none", hist.Items)
		}
	})
}

// A project's untrusted labels keep a fork's jobs on the agents kept for
// untrusted code, whatever runs-on its own file says: after the trust
// approval, the job waits for an agent with them rather than run on the
// project's usual agents, and one with them runs it. Trusted runs go
// where their files say.
func TestUntrustedRunsGoToTheAgentsKeptForThem(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	fork := forkHook(t, l, "forked", forkRepo(t))
	var p lathe.Project
	l.Do(t, http.MethodPatch, "/api/v1/projects/forked", map[string]any{"untrusted_labels": []string{"fork-farm"}}, &p)
	if strings.Join(p.UntrustedLabels, ",") != "fork-farm" {
		t.Fatalf("project after PATCH: untrusted_labels %v", p.UntrustedLabels)
	}
	wantProblem(t, l, http.MethodPatch, "/api/v1/projects/forked", map[string]any{"untrusted_labels": []string{"two words"}}, 400,
		`untrusted_labels: "two words" must be non-empty, without spaces or commas`)

	run := fork()
	test := lathetest.JobByName(t, l.Run(t, run.ID), "test")
	if got := strings.Join(l.Job(t, test.ID).RunsOn, ","); got != "fork-farm" {
		t.Errorf("the fork's job runs on %q; want fork-farm added", got)
	}
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/approve", run.ID), nil, nil)
	var j *lathe.Job
	for i := 0; i < 300; i++ {
		if j = l.Job(t, test.ID); j.Status != lathe.StatusWaiting && j.WaitReason != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if j.Status != lathe.StatusQueued || len(j.Attempts) != 0 || !strings.Contains(j.WaitReason, "fork-farm") {
		t.Fatalf("the approved fork job with only the usual agent online: %s, %d attempts, waiting for %q; want queued for fork-farm",
			j.Status, len(j.Attempts), j.WaitReason)
	}
	l.StartAgent(t, l.RegistrationToken(t), "fork-farm-1", "", "linux", "fork-farm")
	if done := l.Wait(t, run.ID, 60*time.Second); done.Status != lathe.StatusSuccess {
		t.Fatalf("fork run on the fork farm: %s", done.Status)
	}
	if j = l.Job(t, test.ID); j.Attempts[len(j.Attempts)-1].Agent != "fork-farm-1" {
		t.Errorf("the fork's job ran on %s; want fork-farm-1", j.Attempts[len(j.Attempts)-1].Agent)
	}

	// A trusted run of the project (a pull request from the repository
	// itself) goes where its file says.
	var tok lathe.HookToken
	l.Do(t, http.MethodPost, "/api/v1/projects/forked/hook-tokens", map[string]string{"name": "own"}, &tok)
	var out struct{ Items []*lathe.Run }
	l.Do(t, http.MethodPost, "/api/v1/hooks/"+tok.Token, map[string]any{"ref": "main", "event": "pull_request", "base": "main"}, &out)
	if len(out.Items) != 1 || out.Items[0].Untrusted {
		t.Fatalf("own pull request: %+v", out.Items)
	}
	trusted := l.Wait(t, out.Items[0].ID, 60*time.Second)
	if tj := lathetest.JobByName(t, trusted, "test"); len(l.Job(t, tj.ID).RunsOn) != 0 {
		t.Errorf("a trusted run's job runs on %v; want its file's runs-on (none)", l.Job(t, tj.ID).RunsOn)
	}
}
