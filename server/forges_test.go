package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// body returns the raw answer of an API call, failing the test on an error status.
func body(t *testing.T, l *lathetest.Lathe, method, path string, in any) string {
	t.Helper()
	resp, err := l.Client.Request(context.Background(), method, path, in, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A forge connection's token goes in and never comes out: not in any
// answer, the audit log or the database. A project on the forge takes its
// URL from it, and follows it; the connection cannot be deleted under it.
func TestForgeConnectionsKeepTheirToken(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		const token, token2 = "ghp_VerySecretForgeToken1234567890", "ghp_TheNextSecretForgeToken0987654321"
		var answers []string
		answers = append(answers, body(t, l, http.MethodPost, "/api/v1/forges",
			map[string]string{"name": "gh", "kind": "github", "url": "https://github.com/", "token": token}))
		var f lathe.Forge
		l.Do(t, http.MethodGet, "/api/v1/forges/gh", nil, &f)
		if f.APIURL != "https://api.github.com" || f.URL != "https://github.com" || f.Kind != "github" {
			t.Errorf("forge = %+v; want github.com with its API derived", f)
		}
		answers = append(answers, body(t, l, http.MethodPost, "/api/v1/forges",
			map[string]string{"name": "lab", "kind": "gitlab", "url": "https://gitlab.example.com", "token": token}))
		var lab lathe.Forge
		l.Do(t, http.MethodGet, "/api/v1/forges/lab", nil, &lab)
		if lab.APIURL != "https://gitlab.example.com/api/v4" {
			t.Errorf("gitlab API URL = %s", lab.APIURL)
		}
		err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/forges",
			map[string]string{"name": "bad", "kind": "bitbucket", "url": "https://b.example", "token": "t"}, nil)
		wantStatus(t, err, http.StatusBadRequest, "a forge of an unknown kind")
		err = l.Client.Do(context.Background(), http.MethodPost, "/api/v1/forges",
			map[string]string{"name": "gh", "kind": "github", "url": "https://github.com", "token": "t"}, nil)
		wantStatus(t, err, http.StatusConflict, "a second forge named gh")

		answers = append(answers, body(t, l, http.MethodPost, "/api/v1/projects",
			map[string]string{"name": "widget", "forge": "gh", "repo": "acme/widget"}))
		var p lathe.Project
		l.Do(t, http.MethodGet, "/api/v1/projects/widget", nil, &p)
		if p.URL != "https://github.com/acme/widget.git" || p.Forge != "gh" || p.Repo != "acme/widget" || p.PRTrust != "write_on_forge" {
			t.Errorf("project = url %s forge %s repo %s pr_trust %s", p.URL, p.Forge, p.Repo, p.PRTrust)
		}
		err = l.Client.Do(context.Background(), http.MethodPatch, "/api/v1/projects/widget", map[string]string{"repo": "../../etc"}, nil)
		wantStatus(t, err, http.StatusBadRequest, "a repo path climbing out")
		err = l.Client.Do(context.Background(), http.MethodPatch, "/api/v1/projects/widget", map[string]string{"forge": "nope"}, nil)
		wantStatus(t, err, http.StatusBadRequest, "an unknown forge")

		answers = append(answers, body(t, l, http.MethodPatch, "/api/v1/forges/gh",
			map[string]string{"url": "https://github.example.com", "token": token2}))
		l.Do(t, http.MethodGet, "/api/v1/projects/widget", nil, &p)
		if p.URL != "https://github.example.com/acme/widget.git" {
			t.Errorf("after the forge moved, the project's URL is %s", p.URL)
		}
		err = l.Client.Do(context.Background(), http.MethodDelete, "/api/v1/forges/gh", nil, nil)
		wantStatus(t, err, http.StatusConflict, "deleting a forge a project uses")
		if err == nil || !strings.Contains(err.Error(), "forge gh is the forge of project widget;") {
			t.Errorf("deleting a forge a project uses: %v; want the forge and the project named", err)
		}
		l.Do(t, http.MethodDelete, "/api/v1/forges/lab", nil, nil)

		for _, path := range []string{"/api/v1/forges", "/api/v1/forges/gh", "/api/v1/projects/widget", "/api/v1/projects",
			"/api/v1/events?limit=100"} {
			answers = append(answers, body(t, l, http.MethodGet, path, nil))
		}
		dsn := o.DatabaseURL
		if dsn == "" {
			dsn = filepath.Join(l.DataDir, "lathe.db")
		}
		answers = append(answers, string(lathetest.Dump(t, dsn)))
		for i, a := range answers {
			for _, tok := range []string{token, token2} {
				if strings.Contains(a, tok) {
					t.Errorf("answer %d (or the database) holds the forge token: %.300s", i, a)
				}
			}
		}
	})
}

// A project's hook secret is generated and shown once, or chosen (at least
// 16 characters); it is never shown again.
func TestHookSecretIsShownOnce(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, forgePipelines)
	l.Project(t, "sec", repo)
	var got struct{ Secret string }
	l.Do(t, http.MethodPost, "/api/v1/projects/sec/hook-secret", nil, &got)
	if len(got.Secret) < 32 {
		t.Fatalf("generated secret %q", got.Secret)
	}
	var p lathe.Project
	l.Do(t, http.MethodGet, "/api/v1/projects/sec", nil, &p)
	if !p.HookSecretSet || strings.Contains(body(t, l, http.MethodGet, "/api/v1/projects/sec", nil), got.Secret) {
		t.Errorf("project = hook_secret_set %v; want set, and the secret nowhere", p.HookSecretSet)
	}
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	h := forgeHook{sender: forge.SenderGitea, event: "push", delivery: "one", body: payload(t, "gitea/push.json", commit)}
	if status, _ := h.send(t, l, "sec", got.Secret); status != http.StatusAccepted {
		t.Errorf("hook signed with the generated secret: %d", status)
	}
	err := l.Client.Do(context.Background(), http.MethodPut, "/api/v1/projects/sec/hook-secret", map[string]string{"secret": "too-short"}, nil)
	wantStatus(t, err, http.StatusBadRequest, "a 9-character hook secret")
	if err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("the refusal does not name the field: %v", err)
	}
	l.Do(t, http.MethodPut, "/api/v1/projects/sec/hook-secret", map[string]string{"secret": "chosen-by-the-owner-1"}, nil)
	h.delivery = "two"
	if status, _ := h.send(t, l, "sec", got.Secret); status != http.StatusUnauthorized {
		t.Errorf("hook signed with the replaced secret: %d; want 401", status)
	}
	if status, _ := h.send(t, l, "sec", "chosen-by-the-owner-1"); status != http.StatusAccepted {
		t.Errorf("hook signed with the chosen secret: %d", status)
	}
}

// fakeGitHub answers the collaborator permission API: writers have write,
// anyone else is no collaborator. It records the tokens it was sent.
func fakeGitHub(t *testing.T, writers ...string) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var tokens []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/acme/widget/collaborators/{user}/permission", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokens = append(tokens, r.Header.Get("Authorization"))
		mu.Unlock()
		for _, u := range writers {
			if u == r.PathValue("user") {
				w.Write([]byte(`{"permission":"write","role_name":"write"}`))
				return
			}
		}
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), tokens...) }
}

// A pull request from the repository itself is trusted when the forge
// says its author may write (asked with the connection's token), or, as
// the project chooses, when a Lathe user of that name has write; pushes to
// protected branches are trusted, pushes elsewhere only from writers.
func TestForgeTrustOfPullRequestsAndPushes(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1, OutboundAllow: allowLoopback(t)})
	gh, tokens := fakeGitHub(t, "octocat")
	l.Do(t, http.MethodPost, "/api/v1/forges", map[string]string{"name": "gh", "kind": "github", "url": "https://github.com",
		"api_url": gh.URL, "token": "forge-token-1234"}, nil)
	repo := lathetest.Repo(t, forgePipelines)
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	const secret = "0123456789abcdef0123"
	l.Do(t, http.MethodPost, "/api/v1/projects", map[string]any{"name": "widget", "url": repo, "forge": "gh", "repo": "acme/widget",
		"protected_branches": []string{"main", "release/*"}}, nil)
	l.Do(t, http.MethodPut, "/api/v1/projects/widget/hook-secret", map[string]string{"secret": secret}, nil)
	n := 0
	untrusted := func(file, event string, edit func(string) string) bool {
		t.Helper()
		n++
		b := payload(t, file, commit)
		if edit != nil {
			b = []byte(edit(string(b)))
		}
		status, out := forgeHook{sender: forge.SenderGitHub, event: event, delivery: "trust-" + string(rune('a'+n)), body: b}.send(t, l, "widget", secret)
		if status != http.StatusAccepted || len(out.Runs) != 1 {
			t.Fatalf("%s: %d, %+v", file, status, out)
		}
		return l.Run(t, out.Runs[0].ID).Untrusted
	}
	byStranger := func(s string) string { return strings.ReplaceAll(s, `"login": "octocat"`, `"login": "stranger"`) }
	toFeature := func(s string) string {
		return strings.Replace(s, `"ref": "refs/heads/main"`, `"ref": "refs/heads/feature"`, 1)
	}

	if untrusted("github/pull_request_opened.json", "pull_request", nil) {
		t.Error("a pull request by a writer on the forge is untrusted")
	}
	if !untrusted("github/pull_request_opened.json", "pull_request", byStranger) {
		t.Error("a pull request by a non-collaborator is trusted")
	}
	if untrusted("github/push.json", "push", byStranger) {
		t.Error("a push to protected main is untrusted")
	}
	if !untrusted("github/push.json", "push", func(s string) string { return byStranger(toFeature(s)) }) {
		t.Error("a push to an unprotected branch by a non-collaborator is trusted")
	}
	for _, tok := range tokens() {
		if tok != "Bearer forge-token-1234" {
			t.Errorf("the forge was asked with %q; want the connection's token", tok)
		}
	}
	if len(tokens()) != 3 {
		t.Errorf("the forge was asked %d times; want 3 (the protected push needs no question)", len(tokens()))
	}

	l.Do(t, http.MethodPatch, "/api/v1/projects/widget", map[string]string{"pr_trust": "write_in_lathe"}, nil)
	if !untrusted("github/pull_request_opened.json", "pull_request", nil) {
		t.Error("write_in_lathe: a pull request by a forge writer with no Lathe user is trusted")
	}
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "octocat", "password": "pw-octocat-123"}, nil)
	l.Do(t, http.MethodPut, "/api/v1/projects/widget/members/users/octocat", map[string]any{"role": "write"}, nil)
	if untrusted("github/pull_request_opened.json", "pull_request", nil) {
		t.Error("write_in_lathe: a pull request by a Lathe writer is untrusted")
	}
}
