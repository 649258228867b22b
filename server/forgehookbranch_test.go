package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/dispatch"
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A push hook refused for a commit the repository does not have stores
// nothing: the branch it names keeps its head, and a branch it invents is
// not made. The same push of a commit that exists moves the branch.
func TestARefusedPushHookMovesNoBranch(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, forgePipelines)
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	const secret = "0123456789abcdef0123"
	hookProject(t, l, "web", repo, secret)
	push := func(delivery, sha string) int {
		t.Helper()
		status, _ := forgeHook{sender: forge.SenderGitHub, event: "push", delivery: delivery,
			body: payload(t, "github/push.json", sha)}.send(t, l, "web", secret)
		return status
	}
	if status := push("good", commit); status != http.StatusAccepted {
		t.Fatalf("push of the head commit: %d", status)
	}
	missing := strings.Repeat("1", 40)
	if status := push("missing", missing); status != http.StatusBadRequest {
		t.Fatalf("push of a commit the repository does not have: %d; want 400", status)
	}
	var b lathe.Branch
	l.Do(t, http.MethodGet, "/api/v1/projects/web/branches/main", nil, &b)
	if b.HeadCommit != commit {
		t.Errorf("main's head after a refused push = %s; want %s", b.HeadCommit, commit)
	}
}

// A pull request's run records the branch it targets, but says nothing
// of that branch: the badge, and the runs listed with pull_request=none
// (the home page's last run of a project), are the branch's own.
func TestAPullRequestRunDoesNotSpeakForItsBranch(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, map[string]string{
		".lathe/ci.yml": "name: ci\non: [push, pull_request]\njobs:\n  build:\n    steps: ['test \"$LATHE_EVENT\" = push']\n",
	})
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	const secret = "0123456789abcdef0123"
	hookProject(t, l, "web", repo, secret)
	l.Do(t, http.MethodPatch, "/api/v1/projects/web", map[string]string{"pr_trust": "everyone", "visibility": "public"}, nil)
	hook := func(event, file, delivery string) *lathe.Run {
		t.Helper()
		status, out := forgeHook{sender: forge.SenderGitHub, event: event, delivery: delivery,
			body: payload(t, file, commit)}.send(t, l, "web", secret)
		if status != http.StatusAccepted || len(out.Runs) != 1 {
			t.Fatalf("%s hook: %d, %+v", event, status, out)
		}
		return l.Wait(t, out.Runs[0].ID, 60*time.Second)
	}
	push := hook("push", "github/push.json", "push")
	pr := hook("pull_request", "github/pull_request_opened.json", "pr")
	if push.Status != lathe.StatusSuccess || pr.Status != lathe.StatusFailed || pr.Branch != "main" || pr.PullRequest != 7 {
		t.Fatalf("push run %s, pull request run %s on %q (PR %d); want success, then failed on main (PR 7)", push.Status, pr.Status, pr.Branch, pr.PullRequest)
	}
	for _, q := range []string{"", "?branch=main", "?pipeline=ci&branch=main"} {
		resp, err := lathetest.HTTPClient(t).Get(l.URL + "/api/v1/projects/web/badge.svg" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), ">passing<") {
			t.Errorf("badge.svg%s after main passed and a pull request into it failed:\n%s\nwant passing", q, body)
		}
	}
	var page lathe.Page[*lathe.Run]
	l.Do(t, http.MethodGet, "/api/v1/projects/web/runs?branch=main&pull_request=none", nil, &page)
	if len(page.Items) != 1 || page.Items[0].ID != push.ID {
		t.Errorf("main's own runs = %+v; want only the push's run %d", page.Items, push.ID)
	}
	l.Do(t, http.MethodGet, "/api/v1/projects/web/runs?branch=main", nil, &page)
	if len(page.Items) != 2 {
		t.Errorf("runs on main, pull requests' with them = %d; want 2", len(page.Items))
	}
}

// A hook that no pipeline takes is answered with why, which the forge
// shows with the delivery: a push to a branch, a tag, a pull request into
// a branch the pipelines' on: leave out.
func TestAForgeHookNoPipelineTakesSaysWhy(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{
		".lathe.yml": "on:\n  push: {branches: [release]}\n  pull_request: {branches: [release]}\njobs:\n  build:\n    steps: [echo]\n",
	})
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	lathetest.Git(t, repo, "tag", "v1.2.0")
	const secret = "0123456789abcdef0123"
	hookProject(t, l, "picky", repo, secret)
	l.Do(t, http.MethodPatch, "/api/v1/projects/picky", map[string]string{"pr_trust": "everyone"}, nil)
	for _, c := range []struct{ event, file, want string }{
		{"push", "github/push.json", "push of refs/heads/main"},
		{"push", "github/push_tag.json", "tag of refs/tags/v1.2.0"},
		{"pull_request", "github/pull_request_opened.json", "pull_request of refs/pull/7/head into main"},
	} {
		status, out := forgeHook{sender: forge.SenderGitHub, event: c.event, delivery: c.file,
			body: payload(t, c.file, commit)}.send(t, l, "picky", secret)
		if status != http.StatusOK || len(out.Runs) != 0 || !strings.Contains(out.Ignored, "no pipeline runs on this "+c.want) {
			t.Errorf("%s: %d, %+v; want 200, no run, and ignored naming the %s", c.file, status, out, c.want)
		}
	}
	// The token hook too: its sender sees only the answer.
	var tok lathe.HookToken
	l.Do(t, http.MethodPost, "/api/v1/projects/picky/hook-tokens", map[string]string{"name": "ci"}, &tok)
	var out struct {
		Items   []*lathe.Run
		Ignored string
	}
	l.Do(t, http.MethodPost, "/api/v1/hooks/"+tok.Token, map[string]string{"ref": "main", "event": "push"}, &out)
	if len(out.Items) != 0 || out.Ignored != "no pipeline runs on this push of main: none has it in its on:, or every job's when: is false" {
		t.Errorf("token hook of a push no pipeline takes: %+v; want no run, and why", out)
	}
}

// An organization's hook sends every repository's events to one project's
// URL: those about another repository than the project's start nothing
// and say so; the project's own (its name in any case) start its runs.
func TestAForgeHookAboutAnotherRepositoryStartsNothing(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, forgePipelines)
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	const secret = "0123456789abcdef0123"
	hookProject(t, l, "web", repo, secret)
	// The forge's API is on loopback, which the outbound client refuses:
	// the statuses go nowhere.
	l.Do(t, http.MethodPost, "/api/v1/forges", map[string]string{"name": "gh", "kind": "github", "url": "http://127.0.0.1:1", "token": "t"}, nil)
	l.Do(t, http.MethodPatch, "/api/v1/projects/web", map[string]string{"forge": "gh", "repo": "acme/web"}, nil)
	h := forgeHook{sender: forge.SenderGitHub, event: "push", delivery: "other", body: payload(t, "github/push.json", commit)}
	status, out := h.send(t, l, "web", secret)
	if status != http.StatusOK || len(out.Runs) != 0 || !strings.Contains(out.Ignored, "about repository acme/widget") {
		t.Errorf("push of acme/widget to project acme/web: %d, %+v; want 200, no run, and why", status, out)
	}
	l.Do(t, http.MethodPatch, "/api/v1/projects/web", map[string]string{"repo": "Acme/Widget"}, nil)
	h.delivery = "own"
	if status, out := h.send(t, l, "web", secret); status != http.StatusAccepted || len(out.Runs) != 1 {
		t.Errorf("push of the project's own repository: %d, %+v; want 202 and its run", status, out)
	}
}

// A push that deletes a branch takes it off the project's branches (its
// runs stay); one that deletes the default branch leaves it listed.
func TestADeletedBranchIsNoLongerListed(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, forgePipelines)
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	lathetest.Git(t, repo, "branch", "feature/old")
	const secret = "0123456789abcdef0123"
	hookProject(t, l, "web", repo, secret)
	branch := func(name string) int {
		t.Helper()
		err := l.Client.Do(context.Background(), http.MethodGet, "/api/v1/projects/web/branches/"+url.PathEscape(name), nil, nil)
		if err == nil {
			return http.StatusOK
		}
		return client.StatusOf(err)
	}
	send := func(delivery string, body []byte) *dispatch.HookOutcome {
		t.Helper()
		status, out := forgeHook{sender: forge.SenderGitHub, event: "push", delivery: delivery, body: body}.send(t, l, "web", secret)
		if status != http.StatusAccepted && status != http.StatusOK {
			t.Fatalf("push %s: %d, %+v", delivery, status, out)
		}
		return out
	}
	pushed := payload(t, "github/push.json", commit)
	send("main", pushed)
	send("old", []byte(strings.ReplaceAll(string(pushed), `"refs/heads/main"`, `"refs/heads/feature/old"`)))
	if status := branch("feature/old"); status != http.StatusOK {
		t.Fatalf("feature/old after its push: %d", status)
	}

	out := send("old-deleted", payload(t, "github/push_deleted.json", commit))
	if !strings.Contains(out.Ignored, "branch feature/old is no longer listed") {
		t.Errorf("deleting feature/old answered %q; want it to say the branch is no longer listed", out.Ignored)
	}
	if status := branch("feature/old"); status != http.StatusNotFound {
		t.Errorf("feature/old after its deletion: %d; want 404", status)
	}
	var runs lathe.Page[*lathe.Run]
	l.Do(t, http.MethodGet, "/api/v1/projects/web/runs?branch=feature%2Fold", nil, &runs)
	if len(runs.Items) == 0 {
		t.Errorf("feature/old's runs went with the branch; want them kept")
	}

	deleted := strings.ReplaceAll(string(payload(t, "github/push_deleted.json", commit)), `"refs/heads/feature/old"`, `"refs/heads/main"`)
	send("main-deleted", []byte(deleted))
	if status := branch("main"); status != http.StatusOK {
		t.Errorf("the default branch after a push deleted it: %d; want it still listed", status)
	}
}
