package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A user's rename carries into the gates that name them: the renamed user
// still may not answer the gate of a deployment they asked for, the
// environment's approvers name the new name, and a new user given the old
// name answers nothing meant for the renamed one.
func TestARenamedUserKeepsTheirPlaceAtGates(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		alice, bob := gatedProduction(t, l, lathetest.Repo(t, deployJobRepo("/nonexistent")))
		const base = "/api/v1/projects/app"

		var run lathe.Run
		do(t, alice, "POST", base+"/runs", map[string]any{"pipeline": "prod"}, &run)
		job := lathetest.JobByName(t, l.Run(t, run.ID), "release")
		wantGate(t, job, "alice", "alice's run")
		l.Do(t, http.MethodPatch, "/api/v1/users/alice", map[string]any{"name": "alice2"}, nil)

		approve := fmt.Sprintf("/api/v1/jobs/%d/approve", job.ID)
		wantStatus(t, alice.Do(context.Background(), "POST", approve, nil, nil), http.StatusForbidden, "renamed alice approves her own deployment")
		if j := l.Job(t, job.ID); j.Approval.NotBy != "alice2" || !slices.Equal(j.Approval.From, []string{"alice2", "bob"}) {
			t.Errorf("gate after the rename = %+v; want it to name alice2", j.Approval)
		}
		var env lathe.Environment
		l.Do(t, http.MethodGet, base+"/environments/production", nil, &env)
		if !slices.Equal(env.Approvers, []string{"user:alice2", "user:bob"}) {
			t.Errorf("production's approvers after the rename = %v", env.Approvers)
		}

		l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "alice", "password": "pw-new-alice-12345"}, nil)
		l.Do(t, "PUT", base+"/members/users/alice", map[string]any{"role": "write"}, nil)
		newAlice := l.ClientAs(t, login(t, l, "alice", "pw-new-alice-12345"))
		wantStatus(t, newAlice.Do(context.Background(), "POST", approve, nil, nil), http.StatusForbidden, "a new user named alice approves")

		do(t, bob, "POST", approve, nil, nil)
		if r := l.Wait(t, run.ID, 60*time.Second); r.Status != lathe.StatusSuccess {
			t.Fatalf("run approved by bob: %s", r.Status)
		}
	})
}
