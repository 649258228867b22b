package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// releaseRepo has a build pipeline and a deploy pipeline that takes the
// version and environment a deployment passes.
var releaseRepo = map[string]string{
	".lathe/build.yml": `name: build
on: {manual: {}}
jobs:
  compile:
    steps: [echo built]
`,
	".lathe/deploy.yml": `name: deploy
on: {manual: {}}
parameters:
  version: {type: string}
  environment: {type: string}
jobs:
  ship:
    steps: ['echo "deploying $PARAM_VERSION to $PARAM_ENVIRONMENT"']
`,
}

// startReleaseApp starts a server with the project app of releaseRepo and
// returns the repository's commit.
func startReleaseApp(t *testing.T, o lathetest.Options) (*lathetest.Lathe, string) {
	t.Helper()
	l := lathetest.Start(t, o)
	repo := lathetest.Repo(t, releaseRepo)
	l.Project(t, "app", repo)
	return l, strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
}

// wantProblem calls the API and checks the status and the exact detail.
func wantProblem(t *testing.T, l *lathetest.Lathe, method, path string, body any, status int, detail string) {
	t.Helper()
	err := l.Client.Do(context.Background(), method, path, body, nil)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status || (detail != "" && e.Detail != detail) {
		t.Errorf("%s %s %v = %v; want %d %q", method, path, body, err, status, detail)
	}
}

// Every validation message and status code of Aviator's release API (seed
// 003), and the environments' own checks.
func TestReleaseAndDeploymentValidation(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l, commit := startReleaseApp(t, o)
		const base = "/api/v1/projects/app"

		// Releases.
		for _, v := range []string{"1.0.0", "1.0.0-rc", "1.0.0-rcX", "1.0.0-rc1.5", "1.0.0-rc0", "-rc1"} {
			wantProblem(t, l, "POST", base+"/releases/"+v, map[string]any{"commit": commit}, 400, "Invalid release candidate version")
		}
		for _, c := range []string{"", "deadbeef", strings.Repeat("a", 40), "HEAD"} {
			wantProblem(t, l, "POST", base+"/releases/1.0.0-rc1", map[string]any{"commit": c}, 400, "Invalid commit hash")
		}
		wantProblem(t, l, "POST", "/api/v1/projects/nope/releases/1.0.0-rc1", map[string]any{"commit": commit}, 404, "")
		var rl lathe.Release
		l.Do(t, "POST", base+"/releases/1.0.0-rc1", map[string]any{"commit": commit, "repo": "org/app"}, &rl)
		if rl.Version != "1.0.0" || len(rl.Candidates) != 1 || rl.Candidates[0].Version != "1.0.0-rc1" || rl.Candidates[0].Status != "ready" || rl.Candidates[0].Commit != commit {
			t.Fatalf("created release = %+v %+v", rl, rl.Candidates)
		}
		wantProblem(t, l, "POST", base+"/releases/1.0.0-rc1", map[string]any{"commit": commit}, 409, "")
		l.Do(t, "POST", base+"/releases/1.0.0-rc2", map[string]any{"commit": commit}, nil)
		l.Do(t, "GET", base+"/releases/1.0.0", nil, &rl)
		if len(rl.Candidates) != 2 || rl.Candidates[1].Number != 2 || rl.Final {
			t.Errorf("release with two candidates = %+v", rl)
		}
		l.Do(t, "POST", base+"/releases/1.0.0/final", nil, &rl)
		if !rl.Final {
			t.Errorf("release marked final = %+v", rl)
		}
		wantProblem(t, l, "GET", base+"/releases/9.9.9", nil, 404, "")
		var rls struct{ Items []lathe.Release }
		l.Do(t, "GET", base+"/releases", nil, &rls)
		if len(rls.Items) != 1 {
			t.Errorf("releases = %+v", rls.Items)
		}

		// Environments.
		l.Do(t, "POST", base+"/environments", map[string]any{"name": "staging", "position": 1, "deploy_pipeline": "deploy"}, nil)
		l.Do(t, "POST", base+"/environments", map[string]any{"name": "production", "position": 2, "protected": true,
			"approvers": []string{"user:admin", "role:owner"}, "second_person": true}, nil)
		wantProblem(t, l, "POST", base+"/environments", map[string]any{"name": "staging"}, 409, "")
		wantProblem(t, l, "POST", base+"/environments", map[string]any{"name": "bad name"}, 400, "")
		wantProblem(t, l, "POST", base+"/environments", map[string]any{"name": "qa", "approvers": []string{"boss"}}, 400, "")
		wantProblem(t, l, "POST", base+"/environments", map[string]any{"name": "qa", "approvers": []string{"role:god"}}, 400, "")
		// Approvers who could never approve are refused, saying why.
		l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "reader", "password": "reader-password"}, nil)
		l.Do(t, "PUT", base+"/members/users/reader", map[string]string{"role": "read"}, nil)
		for approver, why := range map[string]string{
			"role:read":   `approvers: "role:read" can never approve: approving needs write on the project (name role:write or role:owner)`,
			"user:nobody": `approvers: "user:nobody": there is no user nobody`,
			"user:reader": `approvers: "user:reader" can never approve: reader has read on project app and approving needs write (give them write, or name someone who has it)`,
			"team:ops":    `approvers: "team:ops": there is no team ops`,
		} {
			wantProblem(t, l, "POST", base+"/environments", map[string]any{"name": "qa", "approvers": []string{approver}}, 400, why)
		}
		l.Do(t, "POST", "/api/v1/teams", map[string]string{"name": "ops"}, nil)
		var env lathe.Environment
		l.Do(t, "PUT", base+"/environments/production", map[string]any{"position": 3, "protected": true, "approvers": []string{"team:ops"}}, &env)
		if env.Position != 3 || !env.Protected || env.SecondPerson || len(env.Approvers) != 1 {
			t.Errorf("updated environment = %+v", env)
		}
		wantProblem(t, l, "PUT", base+"/environments/production", map[string]any{"name": "prod", "position": 3}, 400,
			`name: an environment keeps its name (production); create "prod" and delete this one to move its settings`)
		l.Do(t, "POST", base+"/environments", map[string]any{"name": "qa", "position": 2}, nil)
		var envs struct{ Items []lathe.Environment }
		l.Do(t, "GET", base+"/environments", nil, &envs)
		if len(envs.Items) != 3 || envs.Items[0].Name != "staging" || envs.Items[1].Name != "qa" || envs.Items[2].Name != "production" {
			t.Errorf("environments in promotion order = %+v", envs.Items)
		}
		l.Do(t, "DELETE", base+"/environments/qa", nil, nil)
		wantProblem(t, l, "GET", base+"/environments/qa", nil, 404, "")
		wantProblem(t, l, "PUT", base+"/environments/qa", map[string]any{}, 404, "")

		// Deployments: POST and PATCH share the seed's messages.
		for _, method := range []string{"POST", "PATCH"} {
			body := func(v string) map[string]any {
				return map[string]any{"release_candidate_version": v, "status": "success"}
			}
			wantProblem(t, l, method, base+"/environments/staging/deployments", body("1.0.0"), 400, "Invalid release candidate version")
			wantProblem(t, l, method, base+"/environments/nowhere/deployments", body("1.0.0-rc1"), 404, "Release environment not found")
			wantProblem(t, l, method, base+"/environments/staging/deployments", body("2.0.0-rc1"), 404, "Release not found")
			wantProblem(t, l, method, base+"/environments/staging/deployments", body("1.0.0-rc9"), 404, "Release not found")
		}
		wantProblem(t, l, "PATCH", base+"/environments/production/deployments", map[string]any{"release_candidate_version": "1.0.0-rc1", "status": "done"}, 400, "")
		wantProblem(t, l, "POST", base+"/environments/production/deployments", map[string]any{"release_candidate_version": "1.0.0-rc1"}, 400, "")

		// An outside CD reports: 200 when it creates the deployment, 200 when it updates it; no run starts.
		var d1, d2 lathe.Deployment
		l.Do(t, "PATCH", base+"/environments/production/deployments", map[string]any{"release_candidate_version": "1.0.0-rc1", "status": "in_progress"}, &d1)
		l.Do(t, "PATCH", base+"/environments/production/deployments", map[string]any{"release_candidate_version": "1.0.0-rc1", "status": "success"}, &d2)
		if d1.ID == 0 || d2.ID != d1.ID || d2.Status != "success" || d2.RunID != 0 || d2.Version != "1.0.0-rc1" {
			t.Errorf("reported deployments = %+v then %+v", d1, d2)
		}
		var runs struct{ Items []lathe.Run }
		l.Do(t, "GET", base+"/runs", nil, &runs)
		if len(runs.Items) != 0 {
			t.Errorf("a reported deployment started runs: %+v", runs.Items)
		}
		var m struct{ Items []lathe.MatrixRow }
		l.Do(t, "GET", base+"/deployments", nil, &m)
		if len(m.Items) != 2 || m.Items[0].Current != nil || m.Items[1].Current == nil || m.Items[1].Current.Version != "1.0.0-rc1" {
			t.Errorf("what runs where = %+v", m.Items)
		}
	})
}

// A deployment runs the environment's deploy pipeline at the candidate's
// commit with its version, and its status is the run's; a candidate built
// with trigger_build is ready once its build run succeeds.
func TestDeploymentRunsTheDeployPipeline(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l, commit := startReleaseApp(t, o)
		const base = "/api/v1/projects/app"
		var rl lathe.Release
		l.Do(t, "POST", base+"/releases/1.0.0-rc1", map[string]any{"commit": commit, "trigger_build": true}, &rl)
		c := rl.Candidates[0]
		if c.RunID == 0 || c.Status == "ready" {
			t.Fatalf("built candidate = %+v", c)
		}
		if r := l.Wait(t, c.RunID, 60*time.Second); r.Status != lathe.StatusSuccess || r.Pipeline != "build" || r.Commit != commit {
			t.Fatalf("build run = %s %s %s", r.Status, r.Pipeline, r.Commit)
		}
		l.Do(t, "GET", base+"/releases/1.0.0-rc1", nil, &rl)
		if rl.Candidates[0].Status != "ready" {
			t.Fatalf("candidate after its build = %+v", rl.Candidates[0])
		}

		l.Do(t, "POST", base+"/environments", map[string]any{"name": "staging", "position": 1, "deploy_pipeline": "deploy"}, nil)
		var d lathe.Deployment
		l.Do(t, "POST", base+"/environments/staging/deployments", map[string]any{"release_candidate_version": "1.0.0-rc1"}, &d)
		if d.RunID == 0 || d.Version != "1.0.0-rc1" || d.Commit != commit {
			t.Fatalf("deployment = %+v", d)
		}
		run := l.Wait(t, d.RunID, 60*time.Second)
		if run.Status != lathe.StatusSuccess || run.Pipeline != "deploy" {
			t.Fatalf("deploy run = %s %s", run.Status, run.Pipeline)
		}
		if log := l.Log(t, lathetest.JobByName(t, run, "ship").ID); !strings.Contains(log, "deploying 1.0.0-rc1 to staging") {
			t.Errorf("deploy log:\n%s", log)
		}
		var hist struct{ Items []lathe.Deployment }
		l.Do(t, "GET", base+"/environments/staging/deployments", nil, &hist)
		if len(hist.Items) != 1 || hist.Items[0].Status != "success" {
			t.Errorf("staging history = %+v", hist.Items)
		}
		// Its run's end updated it.
		if got := hist.Items[0]; run.FinishedAt == nil || !got.UpdatedAt.Equal(*run.FinishedAt) {
			t.Errorf("deployment updated at %s, want its run's end %v", got.UpdatedAt, run.FinishedAt)
		}
		var m struct{ Items []lathe.MatrixRow }
		l.Do(t, "GET", base+"/deployments", nil, &m)
		if len(m.Items) != 1 || m.Items[0].Current == nil || m.Items[0].Current.ID != d.ID {
			t.Errorf("what runs where = %+v", m.Items)
		}
	})
}

// A deployment to a protected environment waits at the gate the server
// puts before its deploy run: only the environment's approvers may open
// it, not the user who asked for it when the environment demands a second
// person, and no second deployment starts meanwhile.
func TestProtectedEnvironmentWaitsForASecondPerson(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l, commit := startReleaseApp(t, o)
		const base = "/api/v1/projects/app"
		for _, u := range []string{"alice", "bob", "carol"} {
			l.Do(t, "POST", "/api/v1/users", map[string]any{"name": u, "password": "pw-" + u + "-12345"}, nil)
			l.Do(t, "PUT", base+"/members/users/"+u, map[string]any{"role": "write"}, nil)
		}
		as := func(u string) *client.Client { return l.ClientAs(t, login(t, l, u, "pw-"+u+"-12345")) }
		alice, bob, carol := as("alice"), as("bob"), as("carol")
		l.Do(t, "POST", base+"/environments", map[string]any{"name": "production", "position": 1, "deploy_pipeline": "deploy",
			"protected": true, "approvers": []string{"user:alice", "user:bob"}, "second_person": true}, nil)
		l.Do(t, "POST", base+"/releases/1.0.0-rc1", map[string]any{"commit": commit}, nil)

		var d lathe.Deployment
		if err := alice.Do(t.Context(), "POST", base+"/environments/production/deployments", map[string]any{"release_candidate_version": "1.0.0-rc1"}, &d); err != nil {
			t.Fatal(err)
		}
		ship := lathetest.JobByName(t, l.Run(t, d.RunID), "ship")
		if ship.Status != lathe.StatusWaiting || ship.Approval == nil || ship.Approval.NotBy != "alice" {
			t.Fatalf("protected deploy job = %s %+v", ship.Status, ship.Approval)
		}
		l.Do(t, "GET", base+"/environments/production/deployments", nil, &struct{}{})
		// The conflict names the deployment in the way and its run.
		wantProblem(t, l, "POST", base+"/environments/production/deployments", map[string]any{"release_candidate_version": "1.0.0-rc1"}, 409,
			fmt.Sprintf("create deployment: deployment %d to this environment is not finished (run %d is waiting_for_approval); one deployment at a time: conflict", d.ID, d.RunID))
		approve := fmt.Sprintf("/api/v1/jobs/%d/approve", ship.ID)
		for who, c := range map[string]*client.Client{"alice (who deployed)": alice, "carol (no approver)": carol} {
			var e *client.Error
			if err := c.Do(t.Context(), "POST", approve, nil, nil); !errors.As(err, &e) || e.Status != 403 {
				t.Errorf("%s approves: %v; want 403", who, err)
			}
		}
		if err := bob.Do(t.Context(), "POST", approve, nil, nil); err != nil {
			t.Fatalf("bob approves: %v", err)
		}
		run := l.Wait(t, d.RunID, 60*time.Second)
		if ship = lathetest.JobByName(t, run, "ship"); run.Status != lathe.StatusSuccess || ship.Approval.ApprovedBy != "bob" || ship.Approval.ApprovedAt == nil {
			t.Fatalf("after bob's approval: %s %+v", run.Status, ship.Approval)
		}
		var hist struct{ Items []lathe.Deployment }
		l.Do(t, "GET", base+"/environments/production/deployments", nil, &hist)
		if len(hist.Items) != 1 || hist.Items[0].Status != "success" {
			t.Errorf("production history = %+v", hist.Items)
		}
	})
}

// A final release takes no more candidates, and a candidate refused (final,
// or its number taken) starts no build: the check comes before the build.
func TestRefusedCandidateStartsNoBuild(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l, commit := startReleaseApp(t, o)
		const base = "/api/v1/projects/app"
		runs := func() int {
			var rs struct{ Items []lathe.Run }
			l.Do(t, "GET", base+"/runs", nil, &rs)
			return len(rs.Items)
		}
		build := map[string]any{"commit": commit, "trigger_build": true}
		l.Do(t, "POST", base+"/releases/1.0.0-rc1", build, nil)
		wantProblem(t, l, "POST", base+"/releases/1.0.0-rc1", build, 409, "release candidate 1.0.0-rc1 already exists: conflict")
		l.Do(t, "POST", base+"/releases/1.0.0/final", nil, nil)
		const final = "release 1.0.0 is final: it takes no more candidates; cut a new version: conflict"
		wantProblem(t, l, "POST", base+"/releases/1.0.0-rc2", build, 409, final)
		wantProblem(t, l, "POST", base+"/releases/1.0.0-rc2", map[string]any{"commit": commit}, 409, final)
		if n := runs(); n != 1 {
			t.Errorf("%d build runs after two refused candidates; want only the first candidate's", n)
		}
		var rl lathe.Release
		l.Do(t, "GET", base+"/releases/1.0.0", nil, &rl)
		if len(rl.Candidates) != 1 {
			t.Errorf("final release's candidates = %+v", rl.Candidates)
		}
		l.Do(t, "POST", base+"/releases/1.0.1-rc1", map[string]any{"commit": commit}, nil)
	})
}

// An outside CD that deploys an earlier candidate again (a rollback) makes a
// new deployment: the earlier one, which ended, stays as it was in the
// history, and what runs where names the candidate deployed last. The same
// report sent twice is one deployment.
func TestOutsideCDRedeployIsANewDeployment(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l, commit := startReleaseApp(t, o)
		const base = "/api/v1/projects/app"
		l.Do(t, "POST", base+"/environments", map[string]any{"name": "production", "position": 1}, nil)
		for _, v := range []string{"1.0.0-rc1", "1.0.0-rc2"} {
			l.Do(t, "POST", base+"/releases/"+v, map[string]any{"commit": commit}, nil)
		}
		report := func(version, status string) lathe.Deployment {
			var d lathe.Deployment
			l.Do(t, "PATCH", base+"/environments/production/deployments", map[string]any{"release_candidate_version": version, "status": status}, &d)
			return d
		}
		first := report("1.0.0-rc1", "in_progress")
		if d := report("1.0.0-rc1", "success"); d.ID != first.ID {
			t.Fatalf("rc1's success is deployment %d; want %d, the one in progress", d.ID, first.ID)
		}
		report("1.0.0-rc2", "in_progress")
		report("1.0.0-rc2", "success")
		back := report("1.0.0-rc1", "in_progress")
		if back.ID == first.ID {
			t.Fatalf("rolling back to rc1 rewrote deployment %d, which had ended", first.ID)
		}
		report("1.0.0-rc1", "success")
		if again := report("1.0.0-rc1", "success"); again.ID != back.ID {
			t.Errorf("the same success reported twice made deployment %d beside %d", again.ID, back.ID)
		}
		var hist struct{ Items []lathe.Deployment }
		l.Do(t, "GET", base+"/environments/production/deployments", nil, &hist)
		var got []string
		for _, d := range hist.Items {
			got = append(got, d.Version+" "+d.Status)
		}
		if want := "1.0.0-rc1 success, 1.0.0-rc2 success, 1.0.0-rc1 success"; strings.Join(got, ", ") != want {
			t.Errorf("history = %s; want %s", strings.Join(got, ", "), want)
		}
		var m struct{ Items []lathe.MatrixRow }
		l.Do(t, "GET", base+"/deployments", nil, &m)
		if len(m.Items) != 1 || m.Items[0].Current == nil || m.Items[0].Current.ID != back.ID {
			t.Errorf("what runs where = %+v; want deployment %d of 1.0.0-rc1", m.Items[0].Current, back.ID)
		}
	})
}

// Deployments asked for at once to a free environment: one starts, the
// others are refused with 409, and every deployment recorded has its
// deploy run. (The lock's check and the deployment's record were two
// transactions apart, with the deploy run's start between them.)
func TestConcurrentDeploymentsOneStarts(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l, commit := startReleaseApp(t, o)
		const base = "/api/v1/projects/app"
		l.Do(t, "POST", base+"/environments", map[string]any{"name": "staging", "position": 1, "deploy_pipeline": "deploy"}, nil)
		l.Do(t, "POST", base+"/releases/1.0.0-rc1", map[string]any{"commit": commit}, nil)
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = l.Client.Do(context.Background(), "POST", base+"/environments/staging/deployments",
					map[string]any{"release_candidate_version": "1.0.0-rc1"}, nil)
			}()
		}
		wg.Wait()
		started := 0
		for _, err := range errs {
			var e *client.Error
			switch {
			case err == nil:
				started++
			case !errors.As(err, &e) || e.Status != 409:
				t.Errorf("a deployment asked for at once with others: %v; want 201 or 409", err)
			}
		}
		var hist struct{ Items []lathe.Deployment }
		l.Do(t, "GET", base+"/environments/staging/deployments", nil, &hist)
		if started != 1 || len(hist.Items) != 1 || hist.Items[0].RunID == 0 {
			t.Errorf("%d of %d deployments started; history = %+v; want one, with its run", started, n, hist.Items)
		}
	})
}
