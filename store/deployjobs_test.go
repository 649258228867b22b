package store_test

import (
	"errors"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
)

// A deploy job's deployment follows the job (pending, in progress, an
// outcome) and becomes what runs there; while it runs, the environment is
// busy: a deployment through the API and an outside CD's report of a
// started one are conflicts, an outside CD's outcome is not.
func TestJobDeploymentFollowsItsJobAndHoldsTheLock(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		env := &lathe.Environment{Name: "staging", Approvers: []string{}}
		if err := s.CreateEnvironment(ctx, p.ID, env); err != nil {
			t.Fatal(err)
		}
		cid, err := s.CreateCandidate(ctx, p.ID, "1.0.0", 1, "0123456789abcdef0123456789abcdef01234567", 0, "alice")
		if err != nil {
			t.Fatal(err)
		}
		j := job("deploy", "build")
		j.Environment = "staging"
		r := &lathe.Run{ProjectID: p.ID, Pipeline: "ci", Branch: "main", Ref: "refs/heads/main", Commit: "feedfacefeedfacefeedfacefeedfacefeedface", Event: "push"}
		if err := s.CreateRun(ctx, store.NewRun{Run: r, Stages: []string{"build"}, Jobs: []*lathe.Job{j},
			Deployments: []store.JobDeployment{{Job: j, EnvironmentID: env.ID, By: "push"}}}); err != nil {
			t.Fatal(err)
		}
		status := func() *lathe.Deployment {
			t.Helper()
			page, err := s.DeploymentPage(ctx, store.DeploymentFilter{EnvironmentID: env.ID, Limit: 10})
			ds := page.Items
			if err != nil || len(ds) == 0 {
				t.Fatalf("deployments: %v %v", ds, err)
			}
			return ds[0]
		}
		if d := status(); d.Status != "pending" || d.JobID != j.ID || d.Commit != r.Commit || d.Version != "" {
			t.Fatalf("before the claim: %+v", d)
		}
		a := mustAgent(t, s, "a1")
		as := mustClaim(t, s, a)
		if d := status(); d.Status != "in_progress" {
			t.Fatalf("while the job runs: %+v", d)
		}
		if err := s.CreateRun(ctx, deployRun(p.ID, env.ID, cid)); !errors.Is(err, lathe.ErrConflict) {
			t.Errorf("a deployment while the job deploys: %v; want a conflict", err)
		}
		if _, err := s.ReportDeployment(ctx, env.ID, cid, "in_progress", "cd"); !errors.Is(err, lathe.ErrConflict) {
			t.Errorf("an outside deployment started while the job deploys: %v; want a conflict", err)
		}
		if _, err := s.ReportDeployment(ctx, env.ID, cid, "failure", "cd"); err != nil {
			t.Errorf("an outside outcome while the job deploys: %v", err)
		}
		finish(t, s, a, as, lathe.StatusSuccess)
		page, err := s.DeploymentPage(ctx, store.DeploymentFilter{EnvironmentID: env.ID, Limit: 10})
		ds := page.Items
		if err != nil || len(ds) != 2 || ds[1].Status != "success" || ds[0].Status != "failure" {
			t.Fatalf("history = %+v, %v", ds, err)
		}
		cur, err := s.CurrentDeployment(ctx, env.ID)
		if err != nil || cur == nil || cur.JobID != j.ID {
			t.Errorf("what runs there = %+v, %v; want the job's deployment", cur, err)
		}
		if _, err := s.ReportDeployment(ctx, env.ID, cid, "in_progress", "cd"); err != nil {
			t.Errorf("an outside deployment once the job ended: %v", err)
		}
	})
}

// deployRun is the deploy run of a deployment of candidate cid to the
// environment envID by bob.
func deployRun(projectID, envID, cid int64) store.NewRun {
	return store.NewRun{Run: &lathe.Run{ProjectID: projectID, Pipeline: "deploy", Ref: "refs/heads/main", Branch: "main",
		Commit: "0123456789abcdef0123456789abcdef01234567", Event: "manual"}, Stages: []string{"deploy"}, Jobs: []*lathe.Job{job("ship", "deploy")},
		Deployment: &store.RunDeployment{EnvironmentID: envID, CandidateID: cid, By: "bob"}}
}

// A deploy run records its deployment with itself, after the lock's check,
// in one transaction: a second one while the first is unfinished is
// refused and leaves neither a run nor a deployment behind, so no
// deployment is ever without its run and two never pass the check at once.
func TestDeployRunRecordsItsDeploymentUnderTheLock(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		env := &lathe.Environment{Name: "production", DeployPipeline: "deploy", Approvers: []string{}}
		if err := s.CreateEnvironment(ctx, p.ID, env); err != nil {
			t.Fatal(err)
		}
		cid, err := s.CreateCandidate(ctx, p.ID, "1.0.0", 1, "0123456789abcdef0123456789abcdef01234567", 0, "alice")
		if err != nil {
			t.Fatal(err)
		}
		first := deployRun(p.ID, env.ID, cid)
		if err := s.CreateRun(ctx, first); err != nil {
			t.Fatal(err)
		}
		d, err := s.DeploymentOfRun(ctx, first.Run.ID)
		if err != nil || d.ID != first.Deployment.ID || d.RunID != first.Run.ID || d.Version != "1.0.0-rc1" || d.Status != "pending" || d.CreatedBy != "bob" {
			t.Fatalf("the deploy run's deployment = %+v, %v", d, err)
		}
		second := deployRun(p.ID, env.ID, cid)
		if err := s.CreateRun(ctx, second); !errors.Is(err, lathe.ErrConflict) {
			t.Fatalf("a second deploy run while the first is pending: %v; want a conflict", err)
		}
		page, err := s.DeploymentPage(ctx, store.DeploymentFilter{EnvironmentID: env.ID, Limit: 10})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != d.ID {
			t.Errorf("deployments after the refused one = %+v, %v", page.Items, err)
		}
		if second.Run.ID != 0 {
			if _, err := s.Run(ctx, second.Run.ID); !errors.Is(err, lathe.ErrNotFound) {
				t.Errorf("the refused deploy run %d was stored: %v", second.Run.ID, err)
			}
		}
	})
}

// A candidate's build run links its deploy jobs' deployments to the
// candidate once it is stored.
func TestCandidateBuildLinksItsJobDeployments(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		env := &lathe.Environment{Name: "preview", Approvers: []string{}}
		if err := s.CreateEnvironment(ctx, p.ID, env); err != nil {
			t.Fatal(err)
		}
		j := job("preview", "build")
		j.Environment = "preview"
		r := &lathe.Run{ProjectID: p.ID, Pipeline: "build", Branch: "main", Ref: "refs/heads/main", Commit: "feedfacefeedfacefeedfacefeedfacefeedface", Event: "manual"}
		if err := s.CreateRun(ctx, store.NewRun{Run: r, Stages: []string{"build"}, Jobs: []*lathe.Job{j},
			Deployments: []store.JobDeployment{{Job: j, EnvironmentID: env.ID, By: "alice"}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCandidate(ctx, p.ID, "2.0.0", 1, r.Commit, r.ID, "alice"); err != nil {
			t.Fatal(err)
		}
		rl, err := s.Release(ctx, p.ID, "2.0.0")
		if err != nil {
			t.Fatal(err)
		}
		ds, err := s.DeploymentPage(ctx, store.DeploymentFilter{ReleaseID: rl.ID, Limit: 10})
		if err != nil || len(ds.Items) != 1 || ds.Items[0].Version != "2.0.0-rc1" || ds.Items[0].Environment != "preview" {
			t.Errorf("the release's deployments = %+v, %v", ds, err)
		}
		if envID, err := s.EnvironmentOfJob(ctx, j.ID); err != nil || envID != env.ID {
			t.Errorf("environment of the job = %d, %v", envID, err)
		}
	})
}

// An environment's secrets are sealed with the row's identity, listed
// without values, opened for its jobs, and re-sealed with the others on a
// key rotation; its variables stay plain.
func TestEnvironmentVariablesAndSecrets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		oldKey, newKey := secret.NewKey(), secret.NewKey()
		old := keyring(t, oldKey)
		if err := s.CheckSecretKey(ctx, old); err != nil {
			t.Fatal(err)
		}
		p := mustProject(t, s, "web")
		env := &lathe.Environment{Name: "production", Approvers: []string{}}
		if err := s.CreateEnvironment(ctx, p.ID, env); err != nil {
			t.Fatal(err)
		}
		if created, err := s.SetEnvironmentVariable(ctx, old, env.ID, "TOKEN", "production-token-1", true, "alice"); err != nil || !created {
			t.Fatalf("set secret: %v %v", created, err)
		}
		if created, err := s.SetEnvironmentVariable(ctx, old, env.ID, "REGION", "eu", false, "alice"); err != nil || !created {
			t.Fatalf("set variable: %v %v", created, err)
		}
		if created, err := s.SetEnvironmentVariable(ctx, old, env.ID, "REGION", "us", false, "bob"); err != nil || created {
			t.Fatalf("replace variable: %v %v", created, err)
		}
		vs, err := s.EnvironmentVariables(ctx, env.ID)
		if err != nil || len(vs) != 2 || vs[0].Name != "REGION" || vs[0].Value != "us" || vs[0].UpdatedBy != "bob" ||
			vs[1].Name != "TOKEN" || !vs[1].Secret || vs[1].Value != "" {
			t.Fatalf("variables = %+v, %v", vs, err)
		}
		rotated := keyring(t, newKey, oldKey)
		if n, err := s.ReencryptSecrets(ctx, rotated); err != nil || n != 2 {
			t.Errorf("re-encrypt: %d, %v; want 2 (the environment's secret and the key check)", n, err)
		}
		only := keyring(t, newKey)
		if err := s.CheckSecretKey(ctx, only); err != nil {
			t.Errorf("after re-encrypt, the new key alone: %v", err)
		}
		vars, secrets, err := s.EnvironmentValues(ctx, only, env.ID)
		if err != nil || len(vars) != 1 || vars[0].Value != "us" || secrets["TOKEN"] != "production-token-1" {
			t.Errorf("values = %v %v, %v", vars, secrets, err)
		}
		if err := s.DeleteEnvironmentVariable(ctx, env.ID, "TOKEN"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteEnvironmentVariable(ctx, env.ID, "TOKEN"); !errors.Is(err, lathe.ErrNotFound) {
			t.Errorf("delete twice: %v", err)
		}
		rs, err := s.ReleaseSettings(ctx, p.ID)
		if err != nil || rs.BuildPipeline != "build" || rs.UpdatedAt != nil {
			t.Errorf("default release settings = %+v, %v", rs, err)
		}
		if err := s.SetReleaseSettings(ctx, p.ID, &lathe.ReleaseSettings{BuildPipeline: "ci"}, "alice"); err != nil {
			t.Fatal(err)
		}
		if rs, err := s.ReleaseSettings(ctx, p.ID); err != nil || rs.BuildPipeline != "ci" || rs.UpdatedBy != "alice" {
			t.Errorf("release settings = %+v, %v", rs, err)
		}
	})
}
