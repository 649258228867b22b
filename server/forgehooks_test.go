package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/dispatch"
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/store"
)

// forgePipelines run on pushes and pull requests.
var forgePipelines = map[string]string{
	".lathe/ci.yml": "on: [push, pull_request]\njobs:\n  build:\n    steps: ['echo built']\n",
}

// The commit each stored push payload names, replaced by the test repo's.
var payloadSHA = map[string]string{
	"github/push.json":                     "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
	"github/push_skip_ci.json":             "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
	"github/push_tag.json":                 "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
	"github/pull_request_opened.json":      "34c5c7793cb3b279e22454cb6750c80560547b3a",
	"github/pull_request_closed.json":      "34c5c7793cb3b279e22454cb6750c80560547b3a",
	"github/pull_request_fork.json":        "5b9e1f0a7c3d2e4f6a8b0c1d2e3f4a5b6c7d8e9f",
	"gitlab/push.json":                     "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
	"gitea/push.json":                      "bffeb74224043ba2feb48d137756c8a9331c449a",
	"gogs/push.json":                       "f22f45d79a2ff050f0250a7df41f4944e6591853",
	"gitea/pull_request_fork.json":         "1f2e3d4c5b6a79880716253443526170a9b8c7d6",
	"gitlab/merge_request_fork.json":       "e3c9a1b2d4f5061728394a5b6c7d8e9f0a1b2c3d",
	"github/push_deleted.json":             "",
	"gitlab/merge_request_opened.json":     "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
	"gitea/pull_request_synchronized.json": "9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c",
}

// payload is a stored forge payload naming commit instead of its own.
func payload(t *testing.T, file, commit string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "forge", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	if old := payloadSHA[file]; old != "" {
		b = bytes.ReplaceAll(b, []byte(old), []byte(commit))
	}
	return b
}

// forgeHook is one hook delivery as a forge sends it.
type forgeHook struct {
	sender   forge.Sender
	event    string // the sender's event name
	delivery string
	body     []byte
	// signed is the body the signature is made over (nil: body).
	signed []byte
}

// send posts the hook to project with its signature made with secret, and
// returns the HTTP status and the outcome.
func (h forgeHook) send(t *testing.T, l *lathetest.Lathe, project, secret string) (int, *dispatch.HookOutcome) {
	t.Helper()
	signed := h.signed
	if signed == nil {
		signed = h.body
	}
	req, err := http.NewRequest(http.MethodPost, l.URL+"/api/v1/hooks/"+string(h.sender)+"/"+project, bytes.NewReader(h.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range forge.EventHeaders(h.sender, h.event, h.delivery) {
		req.Header[k] = v
	}
	for k, v := range forge.Sign(h.sender, []byte(secret), signed) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := lathetest.HTTPClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out dispatch.HookOutcome
	if resp.StatusCode < 300 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("hook answer %s: %v", b, err)
		}
	}
	return resp.StatusCode, &out
}

// hookProject creates a project on repo with a chosen hook secret.
func hookProject(t *testing.T, l *lathetest.Lathe, name, repo, secret string) {
	t.Helper()
	l.Project(t, name, repo)
	l.Do(t, http.MethodPut, "/api/v1/projects/"+name+"/hook-secret", map[string]string{"secret": secret}, nil)
}

// auditCount counts the audit events of a type.
func auditCount(t *testing.T, l *lathetest.Lathe, action string) int {
	t.Helper()
	var page lathe.Page[*store.AuditEvent]
	l.Do(t, http.MethodGet, "/api/v1/events?type="+action+"&limit=100", nil, &page)
	return len(page.Items)
}

// For every kind of forge, a signed push hook starts a run at the commit
// the payload names (not where the branch is by then: the hook's commit is
// used as is), a replay of the delivery starts nothing, and a body changed
// after signing is refused with 401 and an audit entry.
func TestForgePushHookStartsARunAtItsCommit(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, forgePipelines)
		commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
		lathetest.Commit(t, repo, map[string]string{"README": "the branch moved on\n"})
		const secret = "a-hook-secret-of-some-length"
		for _, c := range []struct {
			sender      forge.Sender
			event, file string
		}{
			{forge.SenderGitHub, "push", "github/push.json"},
			{forge.SenderGitLab, "Push Hook", "gitlab/push.json"},
			{forge.SenderGitea, "push", "gitea/push.json"},
			{forge.SenderForgejo, "push", "gitea/push.json"},
			{forge.SenderGogs, "push", "gogs/push.json"},
		} {
			name := "push-" + string(c.sender)
			hookProject(t, l, name, repo, secret)
			h := forgeHook{sender: c.sender, event: c.event, delivery: "d-" + name, body: payload(t, c.file, commit)}
			status, out := h.send(t, l, name, secret)
			if status != http.StatusAccepted || len(out.Runs) != 1 {
				t.Fatalf("%s push: %d, %+v; want 202 and one run", c.sender, status, out)
			}
			r := l.Run(t, out.Runs[0].ID)
			if len(r.Jobs) != 1 || r.Jobs[0].Status != lathe.StatusQueued {
				t.Errorf("%s push run: status %s, %d jobs, errors %+v; want its job queued", c.sender, r.Status, len(r.Jobs), r.Errors)
			}
			if r.Commit != commit || r.Ref != "refs/heads/main" || r.Branch != "main" || r.Event != "push" || r.Untrusted {
				t.Errorf("%s push run = commit %s ref %s branch %s event %s untrusted %v; want %s on main, trusted",
					c.sender, r.Commit, r.Ref, r.Branch, r.Event, r.Untrusted, commit)
			}
			if status, out := h.send(t, l, name, secret); status != http.StatusOK || len(out.Runs) != 0 || out.Ignored == "" {
				t.Errorf("%s replay: %d, %+v; want 200 and nothing started", c.sender, status, out)
			}

			refusedBefore := auditCount(t, l, "hook.refused")
			tampered := forgeHook{sender: c.sender, event: c.event, delivery: "t-" + name,
				body: bytes.Replace(h.body, []byte("refs/heads/main"), []byte("refs/heads/evil"), 1), signed: h.body}
			if c.sender == forge.SenderGitLab {
				// GitLab sends the secret itself; a wrong one is its tampering.
				tampered = forgeHook{sender: c.sender, event: c.event, delivery: "t-" + name, body: h.body}
				if status, _ := tampered.send(t, l, name, "not-the-secret-at-all"); status != http.StatusUnauthorized {
					t.Errorf("gitlab hook with a wrong token: %d; want 401", status)
				}
			} else if status, _ := tampered.send(t, l, name, secret); status != http.StatusUnauthorized {
				t.Errorf("%s tampered hook: %d; want 401", c.sender, status)
			}
			if got := auditCount(t, l, "hook.refused"); got != refusedBefore+1 {
				t.Errorf("%s: %d hook.refused events after a refusal; want %d", c.sender, got, refusedBefore+1)
			}
		}
		var runs lathe.Page[*lathe.Run]
		l.Do(t, http.MethodGet, "/api/v1/runs?limit=100", nil, &runs)
		if len(runs.Items) != 5 {
			t.Errorf("%d runs in all; want one per forge kind", len(runs.Items))
		}
	})
}

// A project without a hook secret, an unsigned hook and a hook for a
// missing project are all refused alike.
func TestForgeHookWithoutSecretIsRefused(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, forgePipelines)
	l.Project(t, "nosecret", repo)
	h := forgeHook{sender: forge.SenderGitHub, event: "push", delivery: "x", body: payload(t, "github/push.json", strings.Repeat("a", 40))}
	for _, project := range []string{"nosecret", "missing"} {
		if status, _ := h.send(t, l, project, "whatever-secret-it-is"); status != http.StatusUnauthorized {
			t.Errorf("hook to %s: %d; want 401", project, status)
		}
	}
	if n := auditCount(t, l, "hook.refused"); n != 1 {
		t.Errorf("%d hook.refused events; want 1 (the missing project has no log)", n)
	}
}

// A branch deletion, a [skip ci] commit and a ping start nothing.
func TestForgeHooksThatStartNothing(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, forgePipelines)
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	const secret = "0123456789abcdef0123"
	hookProject(t, l, "quiet", repo, secret)
	for i, h := range []forgeHook{
		{sender: forge.SenderGitHub, event: "push", body: payload(t, "github/push_deleted.json", commit)},
		{sender: forge.SenderGitHub, event: "push", body: payload(t, "github/push_skip_ci.json", commit)},
		{sender: forge.SenderGitHub, event: "ping", body: payload(t, "github/ping.json", commit)},
	} {
		h.delivery = fmt.Sprint("quiet-", i)
		if status, out := h.send(t, l, "quiet", secret); status != http.StatusOK || len(out.Runs) != 0 || out.Ignored == "" {
			t.Errorf("%s: %d, %+v; want 200, nothing started, and why", h.body[:40], status, out)
		}
	}
	var runs lathe.Page[*lathe.Run]
	l.Do(t, http.MethodGet, "/api/v1/runs?limit=10", nil, &runs)
	if len(runs.Items) != 0 {
		t.Errorf("%d runs; want none", len(runs.Items))
	}
}

// A fork's pull request from each forge starts an untrusted run whose job
// waits at the trust gate.
func TestForgeForkPullRequestWaitsAtTheTrustGate(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, forgePipelines)
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	const secret = "0123456789abcdef0123"
	for _, c := range []struct {
		sender      forge.Sender
		event, file string
		pr          int64
		ref         string
	}{
		{forge.SenderGitHub, "pull_request", "github/pull_request_fork.json", 8, "refs/pull/8/head"},
		{forge.SenderGitea, "pull_request", "gitea/pull_request_fork.json", 13, "refs/pull/13/head"},
		{forge.SenderGitLab, "Merge Request Hook", "gitlab/merge_request_fork.json", 2, "refs/merge-requests/2/head"},
	} {
		name := "fork-" + string(c.sender)
		hookProject(t, l, name, repo, secret)
		// Even a project trusting everyone's pull requests does not trust forks.
		l.Do(t, http.MethodPatch, "/api/v1/projects/"+name, map[string]string{"pr_trust": "everyone"}, nil)
		status, out := forgeHook{sender: c.sender, event: c.event, delivery: name, body: payload(t, c.file, commit)}.send(t, l, name, secret)
		if status != http.StatusAccepted || len(out.Runs) != 1 {
			t.Fatalf("%s fork PR: %d, %+v", c.sender, status, out)
		}
		run := out.Runs[0]
		waitFor(t, 30e9, "the fork's job to wait at the trust gate", func() bool {
			return lathetest.JobByName(t, l.Run(t, run.ID), "build").Status == lathe.StatusWaiting
		})
		r := l.Run(t, run.ID)
		if !r.Untrusted || r.Event != "pull_request" || r.PullRequest != c.pr || r.Commit != commit || r.Ref != c.ref || r.Branch != "main" {
			t.Errorf("%s fork run = untrusted %v event %s PR %d commit %s ref %s branch %s", c.sender, r.Untrusted, r.Event,
				r.PullRequest, r.Commit, r.Ref, r.Branch)
		}
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), nil, nil)
	}
}

// Closing a pull request cancels its queued run.
func TestForgeClosedPullRequestCancelsItsRuns(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, forgePipelines)
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	const secret = "0123456789abcdef0123"
	hookProject(t, l, "prs", repo, secret)
	l.Do(t, http.MethodPatch, "/api/v1/projects/prs", map[string]string{"pr_trust": "everyone"}, nil)
	status, out := forgeHook{sender: forge.SenderGitHub, event: "pull_request", delivery: "open",
		body: payload(t, "github/pull_request_opened.json", commit)}.send(t, l, "prs", secret)
	if status != http.StatusAccepted || len(out.Runs) != 1 {
		t.Fatalf("PR opened: %d, %+v", status, out)
	}
	run := l.Run(t, out.Runs[0].ID)
	if run.Untrusted || run.PullRequest != 7 || lathetest.JobByName(t, run, "build").Status != lathe.StatusQueued {
		t.Fatalf("PR run = untrusted %v, PR %d, job %s; want trusted, 7, queued", run.Untrusted, run.PullRequest, run.Jobs[0].Status)
	}
	status, out = forgeHook{sender: forge.SenderGitHub, event: "pull_request", delivery: "close",
		body: payload(t, "github/pull_request_closed.json", commit)}.send(t, l, "prs", secret)
	if status != http.StatusOK || len(out.Canceled) != 1 || out.Canceled[0] != run.ID {
		t.Fatalf("PR closed: %d, %+v; want run %d canceled", status, out, run.ID)
	}
	if r := l.Run(t, run.ID); r.Status != lathe.StatusCanceled {
		t.Errorf("the closed PR's run is %s; want canceled", r.Status)
	}
}

// A push whose pipeline files are those of an earlier commit (read and
// parsed once, then taken from the cache) still clears the branch's
// config errors left by a broken commit in between.
func TestForgePushOfKnownFilesClearsConfigErrors(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, forgePipelines)
	const secret = "0123456789abcdef0123"
	hookProject(t, l, "cfg", repo, secret)
	push := func(i int) {
		t.Helper()
		commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
		forgeHook{sender: forge.SenderGitHub, event: "push", delivery: fmt.Sprint("cfg-", i),
			body: payload(t, "github/push.json", commit)}.send(t, l, "cfg", secret)
	}
	problems := func() int {
		var list struct{ Items []*lathe.ConfigErrors }
		l.Do(t, http.MethodGet, "/api/v1/projects/cfg/config-errors", nil, &list)
		return len(list.Items)
	}
	push(1)
	lathetest.Commit(t, repo, map[string]string{".lathe/ci.yml": "jobs:\n  a:\n    neds: [b]\n"})
	push(2)
	if problems() != 1 {
		t.Fatalf("the broken push left %d config errors; want 1", problems())
	}
	lathetest.Commit(t, repo, forgePipelines)
	push(3)
	if n := problems(); n != 0 {
		t.Errorf("the push restoring the first files left %d config errors; want none", n)
	}
}
