package server_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A project made without a default branch takes the one its repository's
// HEAD names, so a repository on master or trunk runs at once; a branch
// the request names stays, and a repository that cannot be reached yet
// leaves main.
func TestANewProjectTakesItsRepositorysDefaultBranch(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := t.TempDir()
	lathetest.Git(t, repo, "init", "-q", "-b", "trunk")
	lathetest.Commit(t, repo, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [echo on trunk]\n"})

	p := l.Project(t, "trunky", repo)
	if p.DefaultBranch != "trunk" {
		t.Fatalf("default branch %q; want trunk, the repository's HEAD", p.DefaultBranch)
	}
	if r := l.Wait(t, l.Trigger(t, "trunky", "", "").ID, time.Minute); r.Status != lathe.StatusSuccess || r.Branch != "trunk" {
		t.Fatalf("a run at the default branch: %s on %q; want success on trunk", r.Status, r.Branch)
	}

	var named lathe.Project
	l.Do(t, http.MethodPost, "/api/v1/projects", map[string]string{"name": "named", "url": repo, "default_branch": "dev"}, &named)
	if named.DefaultBranch != "dev" {
		t.Errorf("default branch %q; want dev, as the request named it", named.DefaultBranch)
	}

	if p := l.Project(t, "later", filepath.Join(t.TempDir(), "not-yet")); p.DefaultBranch != "main" {
		t.Errorf("default branch %q of a repository not there yet; want main", p.DefaultBranch)
	}
}
