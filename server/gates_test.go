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

const gatedPipeline = `
jobs:
  deploy:
    approval: {message: "Ship it?"}
    steps: [echo deployed]
  notify:
    needs: [deploy]
    steps: [echo notified]
`

// An approval gate cannot be skipped by re-running what it stopped: after a
// reject, `rerun --failed` and `rerun --job` make new runs whose job waits at
// its gate, and an approval covers one pass through the gate — a re-run of
// the approved job waits for a new decision.
func TestRerunPutsAGatedJobBackAtItsGate(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		l.Project(t, "gated", lathetest.Repo(t, map[string]string{".lathe.yml": gatedPipeline}))
		run := l.Trigger(t, "gated", "", "")
		deploy := lathetest.JobByName(t, l.Run(t, run.ID), "deploy")
		wantAtGate(t, l, deploy.ID, "new run")
		post := func(format string, id int64) { l.Do(t, http.MethodPost, fmt.Sprintf(format, id), nil, nil) }

		post("/api/v1/jobs/%d/reject", deploy.ID)
		if r := l.Wait(t, run.ID, 30*time.Second); lathetest.JobByName(t, r, "deploy").Status != lathe.StatusCanceled {
			t.Fatalf("rejected deploy = %s", lathetest.JobByName(t, r, "deploy").Status)
		}
		if code, out := adminCLI(l, "rerun", fmt.Sprint(run.ID), "--failed"); code != 0 {
			t.Fatalf("lathe rerun --failed: exit %d\n%s", code, out)
		}
		run2 := latestRun(t, l, "gated", run.ID)
		deploy = lathetest.JobByName(t, run2, "deploy")
		wantAtGate(t, l, deploy.ID, "rerun --failed after a reject")
		if n := lathetest.JobByName(t, l.Run(t, run2.ID), "notify"); n.Status != lathe.StatusPending {
			t.Errorf("notify behind the gate after rerun-failed = %s; want pending", n.Status)
		}

		post("/api/v1/jobs/%d/reject", deploy.ID)
		l.Wait(t, run2.ID, 30*time.Second)
		if code, out := adminCLI(l, "rerun", "--job", fmt.Sprint(deploy.ID)); code != 0 || !strings.Contains(out, "waits for approval again") {
			t.Errorf("lathe rerun --job of a rejected gate: exit %d\n%s", code, out)
		}
		run3 := latestRun(t, l, "gated", run2.ID)
		deploy = lathetest.JobByName(t, run3, "deploy")
		wantAtGate(t, l, deploy.ID, "rerun --job after a reject")

		post("/api/v1/jobs/%d/approve", deploy.ID)
		if r := l.Wait(t, run3.ID, 60*time.Second); r.Status != lathe.StatusSuccess {
			t.Fatalf("run after approval = %s", r.Status)
		}
		var run4 lathe.Run
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/rerun", deploy.ID), nil, &run4)
		approved := deploy.ID
		deploy = lathetest.JobByName(t, &run4, "deploy")
		wantAtGate(t, l, deploy.ID, "rerun of the approved job")
		if j := l.Job(t, deploy.ID); j.Approval.ApprovedBy != "" || j.Approval.ApprovedAt != nil || len(j.Attempts) != 0 {
			t.Errorf("re-run deploy: approval %+v with %d attempts; want no decision and no attempt yet", j.Approval, len(j.Attempts))
		}
		if j := l.Job(t, approved); j.Approval.ApprovedBy == "" || j.Status != lathe.StatusSuccess {
			t.Errorf("the approved deploy of the earlier run = %s, approved by %q; want it as it ended", j.Status, j.Approval.ApprovedBy)
		}
		post("/api/v1/jobs/%d/approve", deploy.ID)
		r := l.Wait(t, run4.ID, 60*time.Second)
		if j := l.Job(t, deploy.ID); r.Status != lathe.StatusSuccess || len(j.Attempts) != 1 || j.Attempts[0].Number != 2 {
			t.Errorf("run after the second approval = %s, deploy with %d attempts; want success with deploy's second attempt", r.Status, len(j.Attempts))
		}
	})
}

// latestRun returns the project's newest run, which must be newer than after.
func latestRun(t *testing.T, l *lathetest.Lathe, project string, after int64) *lathe.Run {
	t.Helper()
	var page lathe.Page[*lathe.Run]
	l.Do(t, http.MethodGet, "/api/v1/runs?project="+project+"&limit=1", nil, &page)
	if len(page.Items) == 0 || page.Items[0].ID <= after {
		t.Fatalf("no run of %s newer than run %d", project, after)
	}
	return l.Run(t, page.Items[0].ID)
}

// A gate's `from` decides who may answer it, rejecting as approving: a
// writer it does not name can do neither; a user it names and a member of a
// team it names can do both.
func TestGateFromDecidesWhoApprovesAndWhoRejects(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	gate := func(name string) string {
		return fmt.Sprintf("  %s:\n    approval: {from: [carol, \"@release-managers\"]}\n    steps: [echo %s]\n", name, name)
	}
	l.Project(t, "gates", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n" +
		gate("by-user-approve") + gate("by-user-reject") + gate("by-team-approve") + gate("by-team-reject")}))
	for _, u := range []string{"ann", "bob", "carol"} {
		l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": u, "password": u + "-password-1"}, nil)
		l.Do(t, http.MethodPut, "/api/v1/projects/gates/members/users/"+u, map[string]string{"role": "write"}, nil)
	}
	l.Do(t, http.MethodPost, "/api/v1/teams", map[string]string{"name": "release-managers"}, nil)
	l.Do(t, http.MethodPost, "/api/v1/teams/release-managers/members", map[string]string{"user": "ann"}, nil)
	as := func(user string) *client.Client { return l.ClientAs(t, login(t, l, user, user+"-password-1")) }
	ann, bob, carol := as("ann"), as("bob"), as("carol")

	run := l.Run(t, l.Trigger(t, "gates", "", "").ID)
	steps := []struct {
		who    *client.Client
		name   string
		job    string
		action string
		want   lathe.Status
	}{
		{carol, "carol (named)", "by-user-approve", "approve", lathe.StatusSuccess},
		{carol, "carol (named)", "by-user-reject", "reject", lathe.StatusCanceled},
		{ann, "ann (in @release-managers)", "by-team-approve", "approve", lathe.StatusSuccess},
		{ann, "ann (in @release-managers)", "by-team-reject", "reject", lathe.StatusCanceled},
	}
	for _, s := range steps {
		j := lathetest.JobByName(t, run, s.job)
		wantAtGate(t, l, j.ID, s.job)
		path := fmt.Sprintf("/api/v1/jobs/%d/%s", j.ID, s.action)
		for _, action := range []string{"approve", "reject"} {
			err := bob.Do(context.Background(), http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/%s", j.ID, action), nil, nil)
			wantStatus(t, err, http.StatusForbidden, fmt.Sprintf("bob, a writer the gate does not name, %s %s", action, s.job))
		}
		wantAtGate(t, l, j.ID, s.job+" after bob was refused")
		if err := s.who.Do(context.Background(), http.MethodPost, path, nil, nil); err != nil {
			t.Errorf("%s: %s %s: %v", s.name, s.action, s.job, err)
		}
	}
	done := l.Wait(t, run.ID, 60*time.Second)
	for _, s := range steps {
		if got := lathetest.JobByName(t, done, s.job).Status; got != s.want {
			t.Errorf("%s after %s's %s = %s; want %s", s.job, s.name, s.action, got, s.want)
		}
	}
}

// An approval given to a job that never ran does not outlive a re-run of
// what it needs: in the new run, the job behind the re-run job waits at its
// gate again.
func TestApprovalOfACanceledJobDoesNotCarryOverToItsReRun(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "behind", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  build:
    steps: [echo built]
  deploy:
    needs: [build]
    runs-on: [no-such-agent]
    approval: {message: "Ship it?"}
    steps: [echo deployed]
`}))
	run := l.Trigger(t, "behind", "", "")
	var deploy *lathe.Job
	waitFor(t, 60*time.Second, "deploy to wait at its gate", func() bool {
		deploy = lathetest.JobByName(t, l.Run(t, run.ID), "deploy")
		return deploy.Status == lathe.StatusWaiting
	})
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/approve", deploy.ID), nil, nil)
	cancelRun(t, l, run.ID) // deploy, approved, never found an agent
	var again lathe.Run
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/rerun", lathetest.JobByName(t, l.Run(t, run.ID), "build").ID), nil, &again)
	waitFor(t, 60*time.Second, "build to run again", func() bool {
		return lathetest.JobByName(t, l.Run(t, again.ID), "build").Status == lathe.StatusSuccess
	})
	if j := l.Job(t, lathetest.JobByName(t, l.Run(t, again.ID), "deploy").ID); j.Status != lathe.StatusWaiting || j.Approval.ApprovedBy != "" {
		t.Errorf("deploy behind the re-run build = %s, approved by %q; want waiting for a new decision", j.Status, j.Approval.ApprovedBy)
	}
}
