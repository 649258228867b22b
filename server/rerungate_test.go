package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// gatedProduction sets up project app with repo, the writers alice and bob,
// and a protected production environment both may approve that demands a
// second person; it returns their clients.
func gatedProduction(t *testing.T, l *lathetest.Lathe, repo string) (alice, bob *client.Client) {
	t.Helper()
	l.Project(t, "app", repo)
	const base = "/api/v1/projects/app"
	for _, u := range []string{"alice", "bob"} {
		l.Do(t, "POST", "/api/v1/users", map[string]any{"name": u, "password": "pw-" + u + "-12345"}, nil)
		l.Do(t, "PUT", base+"/members/users/"+u, map[string]any{"role": "write"}, nil)
	}
	l.Do(t, "POST", base+"/environments", map[string]any{"name": "production", "position": 1, "deploy_pipeline": "deploy",
		"protected": true, "approvers": []string{"user:alice", "user:bob"}, "second_person": true}, nil)
	as := func(u string) *client.Client { return l.ClientAs(t, login(t, l, u, "pw-"+u+"-12345")) }
	return as("alice"), as("bob")
}

// do calls the API as c and fails the test on an error.
func do(t *testing.T, c *client.Client, method, path string, body, out any) {
	t.Helper()
	if err := c.Do(context.Background(), method, path, body, out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
}

// wantGate checks the job is waiting at production's gate, which who may
// not answer.
func wantGate(t *testing.T, j *lathe.Job, who, what string) {
	t.Helper()
	if j.Status != lathe.StatusWaiting || j.Approval == nil || j.Approval.NotBy != who ||
		strings.Join(j.Approval.From, ",") != "alice,bob" || j.Approval.ApprovedBy != "" {
		t.Fatalf("%s: job %s is %s with gate %+v; want waiting at production's gate, not to be answered by %s", what, j.Name, j.Status, j.Approval, who)
	}
}

// A re-run of a deployment's deploy run is a new deployment of the same
// candidate, by the user who re-runs it: recorded, behind the
// environment's gate, which that user may not answer when it demands a
// second person, and refused while a deployment there is unfinished.
// Before, the whole-run re-run started the deploy pipeline with no gate,
// no lock and no deployment.
func TestARerunOfADeploymentIsADeployment(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, releaseRepo)
		commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
		alice, bob := gatedProduction(t, l, repo)
		const base = "/api/v1/projects/app"
		l.Do(t, "POST", base+"/releases/1.0.0-rc1", map[string]any{"commit": commit}, nil)

		var d lathe.Deployment
		do(t, alice, "POST", base+"/environments/production/deployments", map[string]any{"release_candidate_version": "1.0.0-rc1"}, &d)
		first := lathetest.JobByName(t, l.Run(t, d.RunID), "ship")
		wantGate(t, first, "alice", "the deployment")
		wantStatus(t, alice.Do(context.Background(), "POST", fmt.Sprintf("/api/v1/runs/%d/rerun", d.RunID), nil, nil), http.StatusConflict,
			"a re-run while the deployment waits at its gate")
		do(t, bob, "POST", fmt.Sprintf("/api/v1/jobs/%d/reject", first.ID), map[string]string{"comment": "not yet"}, nil)
		l.Wait(t, d.RunID, 30*time.Second)

		var again lathe.Run
		do(t, alice, "POST", fmt.Sprintf("/api/v1/runs/%d/rerun", d.RunID), nil, &again)
		if again.ParentID == nil || *again.ParentID != d.RunID || again.Event != lathe.EventRerun {
			t.Errorf("re-run = parent %v event %s; want a re-run of run %d", again.ParentID, again.Event, d.RunID)
		}
		ship := lathetest.JobByName(t, l.Run(t, again.ID), "ship")
		wantGate(t, ship, "alice", "alice's re-run")
		var hist struct{ Items []lathe.Deployment }
		l.Do(t, "GET", base+"/environments/production/deployments", nil, &hist)
		if len(hist.Items) != 2 || hist.Items[0].RunID != again.ID || hist.Items[0].CreatedBy != "alice" ||
			hist.Items[0].Version != "1.0.0-rc1" || hist.Items[0].Status != "waiting_for_approval" || hist.Items[1].Status != "canceled" {
			t.Fatalf("production history after the re-run = %+v", hist.Items)
		}
		approve := fmt.Sprintf("/api/v1/jobs/%d/approve", ship.ID)
		wantStatus(t, alice.Do(context.Background(), "POST", approve, nil, nil), http.StatusForbidden, "alice approves her re-run")
		do(t, bob, "POST", approve, nil, nil)
		if r := l.Wait(t, again.ID, 60*time.Second); r.Status != lathe.StatusSuccess {
			t.Fatalf("approved re-run: %s", r.Status)
		}
		l.Do(t, "GET", base+"/environments/production/deployments", nil, &hist)
		if hist.Items[0].Status != "success" {
			t.Errorf("deployment of the approved re-run = %+v", hist.Items[0])
		}

		// Whoever re-runs is the one kept from the gate.
		var third lathe.Run
		do(t, bob, "POST", fmt.Sprintf("/api/v1/runs/%d/rerun", again.ID), nil, &third)
		wantGate(t, lathetest.JobByName(t, l.Run(t, third.ID), "ship"), "bob", "bob's re-run")
		cancelRun(t, l, third.ID)
	})
}

// The deploy jobs of a re-run, whole or of its failed or one job, deploy
// as the user who re-runs: the deployment is theirs and the environment's
// second-person gate keeps them out, whoever asked for the run re-run.
func TestARerunOfADeployJobKeepsTheSecondPerson(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		alice, bob := gatedProduction(t, l, lathetest.Repo(t, deployJobRepo("/nonexistent")))
		const base = "/api/v1/projects/app"

		var run lathe.Run
		do(t, bob, "POST", base+"/runs", map[string]any{"pipeline": "prod"}, &run)
		job := lathetest.JobByName(t, l.Run(t, run.ID), "release")
		wantGate(t, job, "bob", "bob's run")
		do(t, alice, "POST", fmt.Sprintf("/api/v1/jobs/%d/approve", job.ID), nil, nil)
		if r := l.Wait(t, run.ID, 60*time.Second); r.Status != lathe.StatusSuccess {
			t.Fatalf("approved run: %s", r.Status)
		}

		for _, rerun := range []struct{ name, path string }{
			{"whole", fmt.Sprintf("/api/v1/runs/%d/rerun", run.ID)},
			{"job", fmt.Sprintf("/api/v1/jobs/%d/rerun", job.ID)},
		} {
			var again lathe.Run
			do(t, alice, "POST", rerun.path, nil, &again)
			j := lathetest.JobByName(t, l.Run(t, again.ID), "release")
			wantGate(t, j, "alice", "alice's re-run ("+rerun.name+")")
			wantStatus(t, alice.Do(context.Background(), "POST", fmt.Sprintf("/api/v1/jobs/%d/approve", j.ID), nil, nil), http.StatusForbidden,
				"alice approves her re-run ("+rerun.name+")")
			var hist struct{ Items []lathe.Deployment }
			l.Do(t, "GET", base+"/environments/production/deployments", nil, &hist)
			if d := hist.Items[0]; d.JobID != j.ID || d.CreatedBy != "alice" {
				t.Errorf("deployment of alice's re-run (%s) = %+v", rerun.name, d)
			}
			do(t, bob, "POST", fmt.Sprintf("/api/v1/jobs/%d/reject", j.ID), map[string]string{"comment": "no"}, nil)
			l.Wait(t, again.ID, 30*time.Second)
			if rerun.name != "whole" {
				continue
			}
			// Its rejected job is re-run with the failed ones, by bob now.
			var failed lathe.Run
			do(t, bob, "POST", fmt.Sprintf("/api/v1/runs/%d/rerun-failed", again.ID), nil, &failed)
			wantGate(t, lathetest.JobByName(t, l.Run(t, failed.ID), "release"), "bob", "bob's re-run of the failed jobs")
			cancelRun(t, l, failed.ID)
		}
	})
}
