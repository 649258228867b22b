package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// exampleFiles reads an example project of examples/ into a file map.
func exampleFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	root := filepath.Join("..", "examples", dir)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// The scenario on examples/releases, through the API on the real
// server and agents: release 1.0.0-rc1 is built, deployed to staging where
// its smoke test passes, promoted to the protected production behind an
// approval, and deployed there; 1.0.0-rc2 fails its smoke test on staging,
// so staging and production keep running rc1, and production has nothing
// earlier to roll back to.
func TestReleaseScenarioFromStagingToProduction(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		files := exampleFiles(t, "releases")
		repo := lathetest.Repo(t, files)
		rc1 := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
		rc2 := lathetest.Commit(t, repo, map[string]string{"smoke.sh": "echo 'staging does not answer' >&2; exit 1\n"})
		l.Project(t, "app", repo)
		const base = "/api/v1/projects/app"
		l.Do(t, "POST", base+"/environments", map[string]any{"name": "staging", "position": 1, "deploy_pipeline": "deploy"}, nil)
		l.Do(t, "POST", base+"/environments", map[string]any{"name": "production", "position": 2, "deploy_pipeline": "deploy",
			"protected": true, "approvers": []string{"role:owner"}}, nil)

		release := func(version, commit string) {
			var rl lathe.Release
			l.Do(t, "POST", base+"/releases/"+version, map[string]any{"commit": commit, "trigger_build": true}, &rl)
			c := rl.Candidates[len(rl.Candidates)-1]
			if r := l.Wait(t, c.RunID, 60*time.Second); r.Status != lathe.StatusSuccess {
				t.Fatalf("build of %s = %s", version, r.Status)
			}
		}
		wait := func(d lathe.Deployment) lathe.Deployment {
			l.Wait(t, d.RunID, 60*time.Second)
			var hist struct{ Items []lathe.Deployment }
			l.Do(t, "GET", base+"/environments/"+d.Environment+"/deployments", nil, &hist)
			return hist.Items[0]
		}
		running := func() map[string]string {
			var m struct{ Items []lathe.MatrixRow }
			l.Do(t, "GET", base+"/deployments", nil, &m)
			out := map[string]string{}
			for _, row := range m.Items {
				if row.Current != nil {
					out[row.Environment] = row.Current.Version
				}
			}
			return out
		}

		release("1.0.0-rc1", rc1)
		var d lathe.Deployment
		l.Do(t, "POST", base+"/environments/staging/deployments", map[string]any{"release_candidate_version": "1.0.0-rc1"}, &d)
		if d = wait(d); d.Status != "success" {
			t.Fatalf("rc1 on staging = %+v", d)
		}
		l.Do(t, "POST", base+"/environments/staging/promote", nil, &d)
		if d.Environment != "production" || d.Version != "1.0.0-rc1" {
			t.Fatalf("promotion = %+v", d)
		}
		gate := lathetest.JobByName(t, l.Run(t, d.RunID), "deploy")
		if gate.Status != lathe.StatusWaiting {
			t.Fatalf("production deploy before approval = %s", gate.Status)
		}
		l.Do(t, "POST", fmt.Sprintf("/api/v1/jobs/%d/approve", gate.ID), nil, nil)
		if d = wait(d); d.Status != "success" {
			t.Fatalf("rc1 on production = %+v", d)
		}
		if got := running(); got["staging"] != "1.0.0-rc1" || got["production"] != "1.0.0-rc1" {
			t.Fatalf("what runs where after rc1 = %v", got)
		}

		release("1.0.0-rc2", rc2)
		l.Do(t, "POST", base+"/environments/staging/deployments", map[string]any{"release_candidate_version": "1.0.0-rc2"}, &d)
		if d = wait(d); d.Status != "failure" {
			t.Fatalf("rc2 on staging = %+v; want its smoke test to fail it", d)
		}
		if got := running(); got["staging"] != "1.0.0-rc1" || got["production"] != "1.0.0-rc1" {
			t.Fatalf("what runs where after rc2 failed = %v", got)
		}
		wantProblem(t, l, "POST", base+"/environments/production/rollback", nil, 409, "")
		wantProblem(t, l, "POST", base+"/environments/production/promote", nil, 409, "")
		// Staging rolls back to rc1 once rc2 has run there successfully.
		l.Do(t, "PATCH", base+"/environments/staging/deployments", map[string]any{"release_candidate_version": "1.0.0-rc2", "status": "success"}, nil)
		l.Do(t, "POST", base+"/environments/staging/rollback", nil, &d)
		if d = wait(d); d.Status != "success" || d.Version != "1.0.0-rc1" {
			t.Fatalf("rollback of staging = %+v", d)
		}

		// The CLI drives the same routes.
		if code, out := adminCLI(l, "environments", "app"); code != 0 || !strings.Contains(out, "production") || !strings.Contains(out, "1.0.0-rc1") {
			t.Errorf("lathe environments: exit %d\n%s", code, out)
		}
		if code, out := adminCLI(l, "release", "list", "app"); code != 0 || !strings.Contains(out, "1.0.0-rc2") {
			t.Errorf("lathe release list: exit %d\n%s", code, out)
		}
		if code, out := adminCLI(l, "release", "create", "app", "1.0.0", "--commit", rc1); code == 0 || !strings.Contains(out, "Invalid release candidate version") {
			t.Errorf("lathe release create without -rcN: exit %d\n%s", code, out)
		}
		if code, out := adminCLI(l, "rollback", "app", "production"); code == 0 || !strings.Contains(out, "no earlier successful deployment") {
			t.Errorf("lathe rollback production: exit %d\n%s", code, out)
		}
		code, out := adminCLI(l, "deploy", "app", "staging", "1.0.0-rc2", "--json")
		if code != 0 || !strings.Contains(out, `"version": "1.0.0-rc2"`) {
			t.Fatalf("lathe deploy: exit %d\n%s", code, out)
		}
		var last struct{ Items []lathe.Deployment }
		l.Do(t, "GET", base+"/environments/staging/deployments", nil, &last)
		wait(last.Items[0])
	})
}
