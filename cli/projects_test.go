package cli_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A relative path given to a server on this machine names the directory
// here, made absolute; the server refuses a relative path, which it would
// read from its own working directory.
func TestProjectRepositoryPathIsMadeAbsolute(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n"})
	t.Chdir(filepath.Dir(repo))
	runCLI(t, l, []string{"project", "create", "shop", "./" + filepath.Base(repo)})
	var p lathe.Project
	l.Do(t, http.MethodGet, "/api/v1/projects/shop", nil, &p)
	if p.URL != repo {
		t.Errorf("project URL %q, want the absolute path %q", p.URL, repo)
	}
	runCLI(t, l, []string{"project", "update", "shop", "--url", filepath.Base(repo)})
	l.Do(t, http.MethodGet, "/api/v1/projects/shop", nil, &p)
	if p.URL != repo {
		t.Errorf("after update, project URL %q, want the absolute path %q", p.URL, repo)
	}
	err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects", map[string]string{"name": "rel", "url": "./" + filepath.Base(repo)}, nil)
	if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "relative path") {
		t.Errorf("the API took a relative path: %v", err)
	}
}

// A project's forge settings are set from the command line, as the README
// tells (forge, repository, protected branches, pull request trust), and
// cleared by giving them empty.
func TestProjectUpdateSetsItsForge(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "web", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n"}))
	l.Do(t, http.MethodPost, "/api/v1/forges", map[string]string{"name": "gh", "kind": "github", "url": "https://github.com", "token": "t"}, nil)
	out := runCLI(t, l, []string{"project", "update", "web", "--forge", "gh", "--repo", "acme/web",
		"--protected-branches", "main,release/*", "--pr-trust", "write_in_lathe"})
	var p lathe.Project
	l.Do(t, http.MethodGet, "/api/v1/projects/web", nil, &p)
	if p.Forge != "gh" || p.Repo != "acme/web" || strings.Join(p.ProtectedBranches, " ") != "main release/*" || p.PRTrust != "write_in_lathe" {
		t.Errorf("project after update = forge %q repo %q protected %v pr_trust %q", p.Forge, p.Repo, p.ProtectedBranches, p.PRTrust)
	}
	if !strings.Contains(out, "on forge gh as acme/web") {
		t.Errorf("lathe project update printed %q; want the forge settings", out)
	}
	runCLI(t, l, []string{"project", "update", "web", "--forge", "", "--repo", "", "--protected-branches", ""})
	p = lathe.Project{}
	l.Do(t, http.MethodGet, "/api/v1/projects/web", nil, &p)
	if p.Forge != "" || p.Repo != "" || len(p.ProtectedBranches) != 0 || p.PRTrust != "write_in_lathe" {
		t.Errorf("project after clearing = forge %q repo %q protected %v pr_trust %q", p.Forge, p.Repo, p.ProtectedBranches, p.PRTrust)
	}
}
