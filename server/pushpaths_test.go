package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A pull request's run records the branch it targets, but its commit is
// not on that branch: a later push to the branch counts its changes from
// the branch's own last success, so merging a pull request runs the jobs
// of what it changed (a forge's pull request, then a token hook's).
func TestPushPathsDoNotCountFromAPullRequestsRun(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, map[string]string{
		".lathe.yml":    strings.Replace(monorepoPipeline, "push: {branches: [main]}", "push: {branches: [main]}\n  pull_request: {}", 1),
		"api/main.go":   "package main\n",
		"docs/index.md": "# docs\n",
	})
	const secret = "0123456789abcdef0123"
	hookProject(t, l, "merges", repo, secret)
	l.Do(t, http.MethodPatch, "/api/v1/projects/merges", map[string]string{"pr_trust": "everyone"}, nil)
	var tok lathe.HookToken
	l.Do(t, http.MethodPost, "/api/v1/projects/merges/hook-tokens", map[string]string{"name": "forge"}, &tok)
	push := map[string]string{"ref": "main", "event": "push"}
	if got := fmt.Sprint(hookRuns(t, l, tok.Token, push)); got != "[main:api,docs]" {
		t.Fatalf("first push ran %s; want [main:api,docs]", got)
	}
	// mergeFeature commits files on a new branch, lets pullRequest build
	// its head, merges it into main with a merge commit and pushes main.
	mergeFeature := func(branch string, files map[string]string, pullRequest func(commit string)) string {
		t.Helper()
		lathetest.Git(t, repo, "checkout", "-q", "-b", branch, "main")
		lathetest.Commit(t, repo, files)
		pullRequest(strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD")))
		lathetest.Git(t, repo, "checkout", "-q", "main")
		lathetest.Git(t, repo, "merge", "-q", "--no-ff", "-m", "merge "+branch, branch)
		return fmt.Sprint(hookRuns(t, l, tok.Token, push))
	}

	got := mergeFeature("docs-fix", map[string]string{"docs/index.md": "# docs, fixed\n"}, func(commit string) {
		status, out := forgeHook{sender: forge.SenderGitHub, event: "pull_request", delivery: "pr-7",
			body: payload(t, "github/pull_request_opened.json", commit)}.send(t, l, "merges", secret)
		if status != http.StatusAccepted || len(out.Runs) != 1 {
			t.Fatalf("pull request hook: %d, %+v; want one run", status, out)
		}
		if r := l.Wait(t, out.Runs[0].ID, 60*time.Second); r.Status != lathe.StatusSuccess || len(r.Jobs) != 1 {
			t.Fatalf("pull request run: %s with %d jobs; want success with docs alone", r.Status, len(r.Jobs))
		}
	})
	if got != "[main:docs]" {
		t.Errorf("push of the merged forge pull request ran %s; want [main:docs]", got)
	}
	got = mergeFeature("api-fix", map[string]string{"api/main.go": "package main // fixed\n"}, func(string) {
		pr := map[string]string{"ref": "api-fix", "event": "pull_request", "base": "main"}
		if got := fmt.Sprint(hookRuns(t, l, tok.Token, pr)); got != "[main:api]" {
			t.Fatalf("token hook's pull request ran %s; want [main:api]", got)
		}
	})
	if got != "[main:api]" {
		t.Errorf("push of the merged token hook's pull request ran %s; want [main:api]", got)
	}
}
