package server_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/server"
)

// deployJobRepo has pipelines whose jobs deploy with `environment:`. ship's
// steps check which variables and secrets each job got; hold's deploy job
// waits (boundedly) for a file the test creates, to hold staging's lock.
func deployJobRepo(gate string) map[string]string {
	return map[string]string{
		".lathe/ship.yml": `name: ship
on: {manual: {}}
jobs:
  build:
    secrets: [DB_PASS]
    steps:
      - test "$DB_PASS" = project-secret-value && test -z "$GREETING"
  deploy:
    needs: [build]
    environment: staging
    secrets: [DB_PASS]
    steps:
      - test "$DB_PASS" = staging-secret-value && test "$GREETING" = hello-staging
`,
		".lathe/hold.yml": fmt.Sprintf(`name: hold
on: {manual: {}}
jobs:
  deploy:
    environment: {name: staging}
    concurrency: {group: mine, limit: 5}
    steps:
      - i=0; while [ ! -f %q ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; test -f %[1]q
`, gate),
		".lathe/build.yml": `name: candidate-build
on: {manual: {}}
jobs:
  compile:
    steps: [echo built]
  preview:
    needs: [compile]
    environment: preview
    steps: [echo previewed]
`,
		".lathe/prod.yml": `name: prod
on: {manual: {}}
jobs:
  release:
    environment: production
    approval: {from: [alice], message: the branch says alice may}
    steps: [echo released]
`,
	}
}

// A pipeline job with `environment:` records a deployment whose status
// follows the job, in the same history as the API's: of the run's commit,
// or of the candidate whose build the run is. It gets its environment's
// variables and secrets, over the project's; a job that does not deploy
// there does not. It holds the environment's lock: a second deploy job
// waits queued with a reason, and an outside CD cannot report a deployment
// started meanwhile, though it can report an outcome.
func TestPipelineDeployJobsRecordDeployments(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := startLifecycle(t, o, server.Config{Agents: 2, Heartbeat: 300 * time.Millisecond, Grace: time.Second,
			SweepInterval: 200 * time.Millisecond, Executor: executor.Options{Kind: executor.KindShell}})
		gate := filepath.Join(t.TempDir(), "go")
		repo := lathetest.Repo(t, deployJobRepo(gate))
		commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
		l.Project(t, "app", repo)
		const base = "/api/v1/projects/app"
		l.Do(t, "POST", base+"/environments", map[string]any{"name": "preview", "position": 0}, nil)
		l.Do(t, "POST", base+"/environments", map[string]any{"name": "staging", "position": 1, "deploy_pipeline": "ship"}, nil)
		l.Do(t, "POST", base+"/secrets", map[string]string{"name": "DB_PASS", "value": "project-secret-value"}, nil)
		var v lathe.EnvironmentVariable
		mustCall(t, l, http.StatusCreated, "PUT", base+"/environments/staging/variables/DB_PASS", map[string]any{"value": "staging-secret-value", "secret": true})
		mustCall(t, l, http.StatusCreated, "PUT", base+"/environments/staging/variables/GREETING", map[string]any{"value": "hello"})
		l.Do(t, "PUT", base+"/environments/staging/variables/GREETING", map[string]any{"value": "hello-staging"}, &v)
		if v.Value != "hello-staging" || v.Secret {
			t.Errorf("replaced variable = %+v", v)
		}
		var vars struct{ Items []lathe.EnvironmentVariable }
		l.Do(t, "GET", base+"/environments/staging/variables", nil, &vars)
		if len(vars.Items) != 2 || vars.Items[0].Name != "DB_PASS" || !vars.Items[0].Secret || vars.Items[0].Value != "" {
			t.Errorf("variables = %+v; want the secret without its value", vars.Items)
		}
		if code, out := adminCLI(l, "envvars", "list", "app", "staging"); code != 0 || !strings.Contains(out, "(secret)") ||
			!strings.Contains(out, "hello-staging") || strings.Contains(out, "staging-secret-value") {
			t.Errorf("lathe envvars list: exit %d\n%s", code, out)
		}
		wantProblem(t, l, "PUT", base+"/environments/staging/variables/lower", map[string]any{"value": "x"}, 400, "")
		wantProblem(t, l, "PUT", base+"/environments/staging/variables/SHORT", map[string]any{"value": "x", "secret": true}, 422, "")
		wantProblem(t, l, "PUT", base+"/environments/nowhere/variables/X", map[string]any{"value": "x"}, 404, "Release environment not found")

		// A deploy job in a run not started for a candidate: its commit.
		run := l.Wait(t, l.Trigger(t, "app", "", "ship").ID, 60*time.Second)
		if run.Status != lathe.StatusSuccess {
			t.Fatalf("ship run = %s; want success (each job checks the variables and secrets it got)", run.Status)
		}
		deploy := lathetest.JobByName(t, run, "deploy")
		var hist struct{ Items []lathe.Deployment }
		l.Do(t, "GET", base+"/environments/staging/deployments", nil, &hist)
		if len(hist.Items) != 1 || hist.Items[0].JobID != deploy.ID || hist.Items[0].Status != "success" ||
			hist.Items[0].Commit != commit || hist.Items[0].Version != "" || hist.Items[0].RunID != run.ID {
			t.Fatalf("staging history = %+v", hist.Items)
		}
		var one lathe.Deployment
		l.Do(t, "GET", fmt.Sprintf("%s/environments/staging/deployments/%d", base, hist.Items[0].ID), nil, &one)
		if one.ID != hist.Items[0].ID {
			t.Errorf("one deployment = %+v", one)
		}
		wantProblem(t, l, "GET", fmt.Sprintf("%s/environments/preview/deployments/%d", base, one.ID), nil, 404, "")
		wantProblem(t, l, "POST", base+"/environments/staging/promote", nil, 409, "")

		// Re-running the deploy job deploys again; the build it needs is carried over.
		var again lathe.Run
		l.Do(t, "POST", fmt.Sprintf("/api/v1/jobs/%d/rerun", deploy.ID), nil, &again)
		if r := l.Wait(t, again.ID, 60*time.Second); r.Status != lathe.StatusSuccess {
			t.Fatalf("re-run = %s", r.Status)
		}
		l.Do(t, "GET", base+"/environments/staging/deployments", nil, &hist)
		if len(hist.Items) != 2 || hist.Items[0].RunID != again.ID || hist.Items[0].Status != "success" || hist.Items[0].JobID == deploy.ID {
			t.Fatalf("staging history after the re-run = %+v", hist.Items)
		}

		// A candidate's build, from the project's build pipeline setting.
		var rs lathe.ReleaseSettings
		l.Do(t, "GET", base+"/release-settings", nil, &rs)
		if rs.BuildPipeline != "build" {
			t.Errorf("default build pipeline = %q", rs.BuildPipeline)
		}
		wantProblem(t, l, "PUT", base+"/release-settings", map[string]any{"build_pipeline": ""}, 400, "")
		l.Do(t, "PUT", base+"/release-settings", map[string]any{"build_pipeline": "candidate-build"}, &rs)
		var rl lathe.Release
		l.Do(t, "POST", base+"/releases/2.0.0-rc1", map[string]any{"commit": commit, "trigger_build": true}, &rl)
		if b := l.Wait(t, rl.Candidates[0].RunID, 60*time.Second); b.Status != lathe.StatusSuccess || b.Pipeline != "candidate-build" {
			t.Fatalf("candidate build = %s %s", b.Pipeline, b.Status)
		}
		var m struct{ Items []lathe.MatrixRow }
		l.Do(t, "GET", base+"/deployments", nil, &m)
		if len(m.Items) != 2 || m.Items[0].Current == nil || m.Items[0].Current.Version != "2.0.0-rc1" ||
			m.Items[1].Current == nil || m.Items[1].Current.Commit != commit {
			t.Errorf("what runs where = %+v %+v", m.Items[0].Current, m.Items[1].Current)
		}
		var rd struct{ Items []lathe.Deployment }
		l.Do(t, "GET", base+"/releases/2.0.0/deployments", nil, &rd)
		if len(rd.Items) != 1 || rd.Items[0].Environment != "preview" {
			t.Errorf("release deployments = %+v", rd.Items)
		}

		// The lock: the first deploy holds it, the second waits queued.
		first := l.Trigger(t, "app", "", "hold")
		firstJob := lathetest.JobByName(t, first, "deploy")
		waitFor(t, 30*time.Second, "the first deploy to run", func() bool { return l.Job(t, firstJob.ID).Status == lathe.StatusRunning })
		if j := l.Job(t, firstJob.ID); j.Concurrency == nil || j.Concurrency.Group != "environment:staging" || j.Concurrency.Limit != 1 {
			t.Errorf("deploy job's lock = %+v; want the environment's, in place of its own", j.Concurrency)
		}
		second := lathetest.JobByName(t, l.Trigger(t, "app", "", "hold"), "deploy")
		waitFor(t, 30*time.Second, "the second deploy to wait for the lock", func() bool {
			j := l.Job(t, second.ID)
			return j.Status == lathe.StatusQueued && strings.HasPrefix(j.WaitReason, "waiting for semaphore environment:staging (1/1 held)")
		})
		l.Do(t, "GET", base+"/environments/staging/deployments", nil, &hist)
		if hist.Items[0].JobID != second.ID || hist.Items[0].Status != "pending" || !strings.Contains(hist.Items[0].WaitReason, "environment:staging") ||
			hist.Items[1].Status != "in_progress" {
			t.Errorf("history while locked = %+v", hist.Items[:2])
		}
		wantProblem(t, l, "POST", base+"/environments/staging/deployments", map[string]any{"release_candidate_version": "2.0.0-rc1"}, 409, "")
		wantProblem(t, l, "PATCH", base+"/environments/staging/deployments", map[string]any{"release_candidate_version": "2.0.0-rc1", "status": "in_progress"}, 409, "")
		l.Do(t, "PATCH", base+"/environments/staging/deployments", map[string]any{"release_candidate_version": "2.0.0-rc1", "status": "failure"}, nil)
		if err := os.WriteFile(gate, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{first.ID, second.RunID} {
			if r := l.Wait(t, id, 60*time.Second); r.Status != lathe.StatusSuccess {
				t.Errorf("hold run %d = %s", id, r.Status)
			}
		}
		a, b := l.Job(t, firstJob.ID), l.Job(t, second.ID)
		if b.StartedAt.Before(*a.FinishedAt) {
			t.Errorf("the second deploy started at %v, before the first ended at %v", b.StartedAt, a.FinishedAt)
		}
		mustCall(t, l, http.StatusNoContent, "DELETE", base+"/environments/staging/variables/GREETING", nil)
		wantProblem(t, l, "DELETE", base+"/environments/staging/variables/GREETING", nil, 404, "")
	})
}

// A protected environment gates a pipeline job deploying to it with its
// own rules, whatever the pipeline file says: its approvers, and a second
// person. A rejection carries its comment to the job, the deployment and
// the audit log.
func TestProtectedEnvironmentGatesDeployJobs(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, deployJobRepo("/nonexistent"))
		l.Project(t, "app", repo)
		const base = "/api/v1/projects/app"
		for _, u := range []string{"alice", "bob"} {
			l.Do(t, "POST", "/api/v1/users", map[string]any{"name": u, "password": "pw-" + u + "-12345"}, nil)
			l.Do(t, "PUT", base+"/members/users/"+u, map[string]any{"role": "write"}, nil)
		}
		as := func(u string) *client.Client { return l.ClientAs(t, login(t, l, u, "pw-"+u+"-12345")) }
		alice, bob := as("alice"), as("bob")
		l.Do(t, "POST", base+"/environments", map[string]any{"name": "production", "position": 1,
			"protected": true, "approvers": []string{"user:alice", "user:bob"}, "second_person": true}, nil)

		var run lathe.Run
		if err := alice.Do(t.Context(), "POST", base+"/runs", map[string]any{"pipeline": "prod"}, &run); err != nil {
			t.Fatal(err)
		}
		job := lathetest.JobByName(t, l.Run(t, run.ID), "release")
		if job.Status != lathe.StatusWaiting || job.Approval == nil || job.Approval.NotBy != "alice" ||
			strings.Join(job.Approval.From, ",") != "alice,bob" {
			t.Fatalf("protected deploy job = %s %+v; want the environment's gate", job.Status, job.Approval)
		}
		var hist struct{ Items []lathe.Deployment }
		l.Do(t, "GET", base+"/environments/production/deployments", nil, &hist)
		if len(hist.Items) != 1 || hist.Items[0].Status != "waiting_for_approval" || hist.Items[0].CreatedBy != "alice" {
			t.Fatalf("production history = %+v", hist.Items)
		}
		// lathe jobs names the gate a job waits at, as lathe status does.
		if code, out := adminCLI(l, "jobs", "--status", "waiting_for_approval"); code != 0 ||
			!strings.Contains(out, "approval from alice, bob (not alice)") {
			t.Errorf("lathe jobs --status waiting_for_approval: exit %d\n%s", code, out)
		}
		reject := fmt.Sprintf("/api/v1/jobs/%d/reject", job.ID)
		var e *client.Error
		if err := alice.Do(t.Context(), "POST", reject, map[string]string{"comment": "mine"}, nil); !errors.As(err, &e) || e.Status != 403 {
			t.Errorf("alice rejects her own deployment: %v; want 403", err)
		}
		wantProblem(t, l, "POST", reject, map[string]any{"comment": strings.Repeat("x", 2001)}, 400, "")
		if err := bob.Do(t.Context(), "POST", reject, map[string]string{"comment": "not during the freeze"}, nil); err != nil {
			t.Fatalf("bob rejects: %v", err)
		}
		l.Wait(t, run.ID, 30*time.Second)
		job = l.Job(t, job.ID)
		if job.Status != lathe.StatusCanceled || job.Approval.RejectedBy != "bob" || job.Approval.RejectedAt == nil ||
			job.Approval.Comment != "not during the freeze" {
			t.Errorf("rejected job = %s %+v", job.Status, job.Approval)
		}
		l.Do(t, "GET", base+"/environments/production/deployments", nil, &hist)
		if d := hist.Items[0]; d.Status != "canceled" || d.Gate == nil || d.Gate.RejectedBy != "bob" || d.Gate.Comment != "not during the freeze" {
			t.Errorf("rejected deployment = %+v gate %+v", d, d.Gate)
		}
		var events struct {
			Items []struct {
				Action  string
				Actor   string
				Details map[string]any
			}
		}
		l.Do(t, "GET", "/api/v1/events?type=approval.rejected", nil, &events)
		found := false
		for _, ev := range events.Items {
			found = found || (ev.Action == "approval.rejected" && ev.Actor == "bob" && ev.Details["comment"] == "not during the freeze")
		}
		if !found {
			t.Errorf("audit log has no rejection with its comment: %+v", events.Items)
		}

		// lathe reject --comment drives the same route.
		if err := alice.Do(t.Context(), "POST", base+"/runs", map[string]any{"pipeline": "prod"}, &run); err != nil {
			t.Fatal(err)
		}
		job = lathetest.JobByName(t, l.Run(t, run.ID), "release")
		if code, out := adminCLI(l, "reject", fmt.Sprint(job.ID), "--comment", "from the CLI"); code != 0 || !strings.Contains(out, "rejected") {
			t.Fatalf("lathe reject --comment: exit %d\n%s", code, out)
		}
		if j := l.Job(t, job.ID); j.Approval.Comment != "from the CLI" || j.Approval.RejectedBy != "admin" {
			t.Errorf("rejected from the CLI: %+v", j.Approval)
		}
		// lathe job shows the gate and its answer, comment and all.
		if code, out := adminCLI(l, "job", fmt.Sprint(job.ID)); code != 0 || !strings.Contains(out, "gate: ") ||
			!strings.Contains(out, "not by alice") || !strings.Contains(out, "rejected by admin at ") || !strings.Contains(out, "comment: from the CLI") {
			t.Errorf("lathe job of the rejected job: exit %d\n%s", code, out)
		}
	})
}
