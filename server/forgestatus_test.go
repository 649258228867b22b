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
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A project that names a repository on a forge connected through the API
// gets its runs' statuses on that forge, sent with the connection's token
// (no test stand-in for the forge settings); clearing the forge stops them.
func TestStatusesGoToTheProjectsConnectedForge(t *testing.T) {
	f := newFakeForge(t, 201)
	l := lathetest.Start(t, lathetest.Options{OutboundAllow: allowLoopback(t), DeliveryPoll: 100 * time.Millisecond})
	l.Do(t, http.MethodPost, "/api/v1/forges", map[string]string{"name": "gh", "kind": "github", "url": "https://github.com",
		"api_url": f.URL, "token": "connection-token-1"}, nil)
	dir := lathetest.Repo(t, map[string]string{".lathe/ci.yml": oneJobPipeline})
	commit := strings.TrimSpace(lathetest.Git(t, dir, "rev-parse", "HEAD"))
	l.Do(t, http.MethodPost, "/api/v1/projects", map[string]any{"name": "widget", "url": dir, "forge": "gh", "repo": "acme/widget"}, nil)

	run := l.Trigger(t, "widget", "", "ci")
	if done := l.Wait(t, run.ID, 60*time.Second); done.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", done.Status)
	}
	waitFor(t, 30*time.Second, "the success status at the forge", func() bool {
		for _, r := range f.requests() {
			if r.Body["state"] == "success" {
				return true
			}
		}
		return false
	})
	for _, r := range f.requests() {
		if r.Method != http.MethodPost || r.Path != "/repos/acme/widget/statuses/"+commit {
			t.Errorf("status sent as %s %s; want POST /repos/acme/widget/statuses/%s", r.Method, r.Path, commit)
		}
		if r.Auth != "Bearer connection-token-1" {
			t.Errorf("status sent with Authorization %q; want the connection's token", r.Auth)
		}
		if r.Body["context"] != "lathe/ci" {
			t.Errorf("status context %v; want lathe/ci", r.Body["context"])
		}
	}

	sent := len(f.requests())
	l.Do(t, http.MethodPatch, "/api/v1/projects/widget", map[string]any{"forge": "", "repo": ""}, nil)
	again := l.Trigger(t, "widget", "", "ci")
	if done := l.Wait(t, again.ID, 60*time.Second); done.Status != lathe.StatusSuccess {
		t.Fatalf("second run %s", done.Status)
	}
	if got := runStatuses(t, l, again.ID); len(got) != 0 {
		t.Errorf("a project without a forge queued %d statuses", len(got))
	}
	if n := len(f.requests()); n != sent {
		t.Errorf("the forge got %d more requests after the project left it", n-sent)
	}
}

// A run waiting for an approval tells the forge so: its pending status
// says what it waits for (the forge has no word of its own for it), and
// the next one follows once it is approved.
func TestTheForgeHearsARunWaitsForApproval(t *testing.T) {
	f := newFakeForge(t, 201)
	l := lathetest.Start(t, lathetest.Options{OutboundAllow: allowLoopback(t), DeliveryPoll: 100 * time.Millisecond})
	l.Do(t, http.MethodPost, "/api/v1/forges", map[string]string{"name": "gh", "kind": "github", "url": "https://github.com",
		"api_url": f.URL, "token": "connection-token-1"}, nil)
	dir := lathetest.Repo(t, map[string]string{".lathe/ci.yml": "name: ci\njobs:\n  ship:\n    approval: {message: ship it}\n    steps: [echo shipped]\n"})
	l.Do(t, http.MethodPost, "/api/v1/projects", map[string]any{"name": "widget", "url": dir, "forge": "gh", "repo": "acme/widget"}, nil)
	said := func(state, words string) func() bool {
		return func() bool {
			for _, r := range f.requests() {
				if r.Body["state"] == state && strings.Contains(fmt.Sprint(r.Body["description"]), words) {
					return true
				}
			}
			return false
		}
	}
	run := l.Trigger(t, "widget", "", "ci")
	waitFor(t, 30*time.Second, "a status saying the run waits for an approval", said("pending", "waits for an approval in Lathe"))
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/approve", lathetest.JobByName(t, l.Run(t, run.ID), "ship").ID), nil, nil)
	if done := l.Wait(t, run.ID, 60*time.Second); done.Status != lathe.StatusSuccess {
		t.Fatalf("approved run: %s", done.Status)
	}
	waitFor(t, 30*time.Second, "the success status", said("success", "succeeded"))
}

// A pull request from the repository itself has a push run and a pull
// request run of the same commit: each reports in a context of its own,
// so the pull request's failure is not hidden by the push's success (nor
// the reverse), whichever ends last.
func TestPushAndPullRequestRunsOfACommitReportApart(t *testing.T) {
	f := newFakeForge(t, 201)
	l := lathetest.Start(t, lathetest.Options{OutboundAllow: allowLoopback(t), DeliveryPoll: 100 * time.Millisecond})
	l.Do(t, http.MethodPost, "/api/v1/forges", map[string]string{"name": "gh", "kind": "github", "url": "https://github.com",
		"api_url": f.URL, "token": "connection-token-1"}, nil)
	dir := lathetest.Repo(t, map[string]string{
		".lathe/ci.yml": "on: [push, pull_request]\njobs:\n  build:\n    steps: ['test \"$LATHE_EVENT\" = push']\n",
	})
	commit := strings.TrimSpace(lathetest.Git(t, dir, "rev-parse", "HEAD"))
	const secret = "0123456789abcdef0123"
	hookProject(t, l, "widget", dir, secret)
	l.Do(t, http.MethodPatch, "/api/v1/projects/widget", map[string]string{"forge": "gh", "repo": "acme/widget", "pr_trust": "everyone"}, nil)
	var runs []int64
	for _, h := range []forgeHook{
		{sender: forge.SenderGitHub, event: "push", delivery: "push", body: payload(t, "github/push.json", commit)},
		{sender: forge.SenderGitHub, event: "pull_request", delivery: "pr", body: payload(t, "github/pull_request_opened.json", commit)},
	} {
		status, out := h.send(t, l, "widget", secret)
		if status != http.StatusAccepted || len(out.Runs) != 1 {
			t.Fatalf("%s hook: %d, %+v", h.event, status, out)
		}
		l.Wait(t, out.Runs[0].ID, 60*time.Second)
		runs = append(runs, out.Runs[0].ID)
	}
	waitFor(t, 30*time.Second, "every status delivered", func() bool {
		for _, id := range runs {
			final := false
			for _, d := range runStatuses(t, l, id) {
				if d.Status != lathe.DeliveryDelivered {
					return false
				}
				final = final || d.State == "success" || d.State == "failure"
			}
			if !final {
				return false
			}
		}
		return true
	})
	last := map[any]any{}
	for _, r := range f.requests() {
		last[r.Body["context"]] = r.Body["state"]
	}
	if got := fmt.Sprint(last); got != "map[lathe/ci:success lathe/ci (pull_request):failure]" {
		t.Errorf("last state of each context = %s; want the push's success and the pull request's failure apart", got)
	}
}

// A forge connection is an admin's: a project's owner may leave the
// forge, or change its trust rules, but not point the project at another
// repository or forge, where the connection's token would write the
// statuses of runs the owner controls. The repository keeps its statuses.
func TestOnlyAnAdminPointsAProjectAtAForgeRepository(t *testing.T) {
	f := newFakeForge(t, 201)
	l := lathetest.Start(t, lathetest.Options{Agents: -1, OutboundAllow: allowLoopback(t), DeliveryPoll: 100 * time.Millisecond})
	l.Do(t, http.MethodPost, "/api/v1/forges", map[string]string{"name": "gh", "kind": "github", "url": "https://github.com",
		"api_url": f.URL, "token": "connection-token-1"}, nil)
	dir := lathetest.Repo(t, map[string]string{".lathe/ci.yml": oneJobPipeline})
	l.Do(t, http.MethodPost, "/api/v1/projects", map[string]any{"name": "widget", "url": dir, "forge": "gh", "repo": "acme/widget"}, nil)
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "olive", "password": "olive-password-1"}, nil)
	l.Do(t, http.MethodPut, "/api/v1/projects/widget/members/users/olive", map[string]any{"role": "owner"}, nil)
	owner := l.ClientAs(t, login(t, l, "olive", "olive-password-1"))
	for _, in := range []map[string]any{{"repo": "acme/payments"}, {"forge": "gh", "repo": "other/thing"}} {
		err := owner.Do(t.Context(), http.MethodPatch, "/api/v1/projects/widget", in, nil)
		wantStatus(t, err, http.StatusForbidden, fmt.Sprintf("an owner's PATCH %v", in))
	}
	var p lathe.Project
	l.Do(t, http.MethodGet, "/api/v1/projects/widget", nil, &p)
	if p.Forge != "gh" || p.Repo != "acme/widget" {
		t.Fatalf("after the owner's refused changes: forge %q repo %q; want gh acme/widget", p.Forge, p.Repo)
	}
	// The same repository, the trust rules, and leaving the forge are the owner's.
	for _, in := range []map[string]any{{"repo": "acme/widget.git", "pr_trust": "everyone"}, {"forge": "", "repo": ""}} {
		if err := owner.Do(t.Context(), http.MethodPatch, "/api/v1/projects/widget", in, nil); err != nil {
			t.Errorf("an owner's PATCH %v: %v", in, err)
		}
	}
}

// A status the forge refused (its token was wrong) can be sent again once
// the token is fixed: the run's current state goes out in its context.
// A project that reports no statuses refuses it, saying why.
func TestAFailedStatusIsSentAgain(t *testing.T) {
	f := newFakeForge(t, http.StatusUnauthorized)
	l := lathetest.Start(t, lathetest.Options{OutboundAllow: allowLoopback(t), DeliveryPoll: 100 * time.Millisecond})
	l.Do(t, http.MethodPost, "/api/v1/forges", map[string]string{"name": "gh", "kind": "github", "url": "https://github.com",
		"api_url": f.URL, "token": "wrong-token"}, nil)
	dir := lathetest.Repo(t, map[string]string{".lathe/ci.yml": oneJobPipeline})
	l.Do(t, http.MethodPost, "/api/v1/projects", map[string]any{"name": "widget", "url": dir, "forge": "gh", "repo": "acme/widget"}, nil)
	run := l.Trigger(t, "widget", "", "ci")
	if done := l.Wait(t, run.ID, 60*time.Second); done.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", done.Status)
	}
	waitFor(t, 30*time.Second, "the success status refused by the forge", func() bool {
		got := runStatuses(t, l, run.ID)
		return len(got) > 0 && got[len(got)-1].State == "success" && got[len(got)-1].Status == lathe.DeliveryFailed
	})

	l.Do(t, http.MethodPatch, "/api/v1/forges/gh", map[string]string{"token": "fixed-token"}, nil)
	f.mu.Lock()
	f.code = http.StatusCreated
	f.mu.Unlock()
	var out struct{ Items []*lathe.Delivery }
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/statuses/resend", run.ID), nil, &out)
	if n := len(out.Items); n == 0 || out.Items[n-1].State != "success" || out.Items[n-1].Context != "lathe/ci" {
		t.Fatalf("resend answered %+v; want the statuses with a success in lathe/ci last", out.Items)
	}
	waitFor(t, 30*time.Second, "the success status sent again with the fixed token", func() bool {
		for _, r := range f.requests() {
			if r.Auth == "Bearer fixed-token" && r.Body["state"] == "success" && r.Body["context"] == "lathe/ci" {
				return true
			}
		}
		return false
	})
	waitFor(t, 30*time.Second, "the new status delivered", func() bool {
		got := runStatuses(t, l, run.ID)
		return got[len(got)-1].Status == lathe.DeliveryDelivered
	})

	l.Project(t, "plain", dir)
	plain := l.Wait(t, l.Trigger(t, "plain", "", "ci").ID, 60*time.Second)
	err := l.ClientAs(t, l.AdminToken).Do(context.Background(), http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/statuses/resend", plain.ID), nil, nil)
	if client.StatusOf(err) != http.StatusConflict || !strings.Contains(err.Error(), "project plain reports no commit statuses") {
		t.Errorf("resend on a project without a forge: %v; want 409 saying why", err)
	}
}
