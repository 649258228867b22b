package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

func statusOf(t *testing.T, l *lathetest.Lathe, token, method, path string, body any) int {
	t.Helper()
	err := l.ClientAs(t, token).Do(context.Background(), method, path, body, nil)
	if err == nil {
		return 200
	}
	return client.StatusOf(err)
}

// Logging in opens a session (token and HttpOnly cookie); a wrong password
// or an unknown user gets 401, a disabled user 403, and disabling a user
// ends the sessions it has.
func TestLoginSessionsAndDisabledUsers(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "ann", "password": "s3cret-pass"}, nil)

	resp, err := l.ClientAs(t, "").Request(context.Background(), "POST", "/api/v1/sessions",
		map[string]string{"username": "ann", "password": "s3cret-pass"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "lathe_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure over plain HTTP", cookie)
	}
	if !strings.HasPrefix(cookie.Value, "lathe_session_") {
		t.Errorf("session token %q lacks its prefix", cookie.Value)
	}
	// The cookie authenticates like a bearer token.
	req, _ := http.NewRequest("GET", l.URL+"/api/v1/users/me", nil)
	req.AddCookie(cookie)
	if resp, err := lathetest.HTTPClient(t).Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /users/me with the cookie: %v %v", resp.StatusCode, err)
	}
	var cur struct {
		User lathe.User `json:"user"`
	}
	if err := l.ClientAs(t, cookie.Value).Do(context.Background(), "GET", "/api/v1/sessions/current", nil, &cur); err != nil || cur.User.Name != "ann" {
		t.Fatalf("current session: %+v %v", cur, err)
	}

	for _, tc := range []struct{ user, pw string }{{"ann", "wrong-pass"}, {"nobody", "s3cret-pass"}} {
		if got := statusOf(t, l, "", "POST", "/api/v1/sessions", map[string]string{"username": tc.user, "password": tc.pw}); got != 401 {
			t.Errorf("login %s/%s: %d, want 401", tc.user, tc.pw, got)
		}
	}

	l.Do(t, "DELETE", "/api/v1/users/ann", nil, nil)
	if got := statusOf(t, l, cookie.Value, "GET", "/api/v1/users/me", nil); got != 401 {
		t.Errorf("session of a disabled user: %d, want 401", got)
	}
	if got := statusOf(t, l, "", "POST", "/api/v1/sessions", map[string]string{"username": "ann", "password": "s3cret-pass"}); got != 403 {
		t.Errorf("login of a disabled user: %d, want 403", got)
	}
	l.Do(t, "PATCH", "/api/v1/users/ann", map[string]any{"disabled": false}, nil)
	tok := login(t, l, "ann", "s3cret-pass")

	// Changing the password needs the current one and ends other sessions.
	other := login(t, l, "ann", "s3cret-pass")
	if got := statusOf(t, l, tok, "PUT", "/api/v1/users/me/password", map[string]string{"current_password": "nope", "new_password": "n3w-password"}); got != 403 {
		t.Errorf("password change with a wrong current password: %d, want 403", got)
	}
	if got := statusOf(t, l, tok, "PUT", "/api/v1/users/me/password", map[string]string{"current_password": "s3cret-pass", "new_password": "n3w-password"}); got != 200 {
		t.Fatalf("password change: %d", got)
	}
	if got := statusOf(t, l, other, "GET", "/api/v1/users/me", nil); got != 401 {
		t.Errorf("other session after a password change: %d, want 401", got)
	}
	if got := statusOf(t, l, tok, "GET", "/api/v1/users/me", nil); got != 200 {
		t.Errorf("the session that changed the password: %d, want 200", got)
	}
	login(t, l, "ann", "n3w-password")

	// Logging out revokes the session at once.
	l2 := l.ClientAs(t, tok)
	if err := l2.Do(context.Background(), "DELETE", "/api/v1/sessions/current", nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(t, l, tok, "GET", "/api/v1/users/me", nil); got != 401 {
		t.Errorf("after logout: %d, want 401", got)
	}
}

// API tokens: shown once with their prefix, stored as a hash, limited by
// scopes that never exceed the owner, expiring, and revoked at once.
func TestAPITokenScopesExpiryAndRevocation(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": rbacPipeline})
	l.Do(t, "POST", "/api/v1/projects", map[string]any{"name": "shop", "url": repo}, nil)
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "bob", "password": "bob-password"}, nil)
	l.Do(t, "PUT", "/api/v1/projects/shop/members/users/bob", map[string]any{"role": "write"}, nil)
	sess := login(t, l, "bob", "bob-password")
	bob := l.ClientAs(t, sess)
	ctx := context.Background()

	var ro lathe.APIToken
	if err := bob.Do(ctx, "POST", "/api/v1/tokens", map[string]any{"name": "ci-read", "scopes": []string{"read"}}, &ro); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ro.Token, "lathe_user_") || len(ro.Token) < len("lathe_user_")+32 {
		t.Errorf("token %q: want lathe_user_ and at least 160 random bits", ro.Token)
	}
	if got := statusOf(t, l, ro.Token, "GET", "/api/v1/projects/shop", nil); got != 200 {
		t.Errorf("read token reading: %d", got)
	}
	if got := statusOf(t, l, ro.Token, "POST", "/api/v1/projects/shop/runs", nil); got != 403 {
		t.Errorf("read token triggering a run: %d, want 403", got)
	}
	if got := statusOf(t, l, sess, "POST", "/api/v1/tokens", map[string]any{"name": "too-much", "scopes": []string{"admin"}}); got != 403 {
		t.Errorf("non-admin asking for an admin token: %d, want 403", got)
	}
	if got := statusOf(t, l, ro.Token, "POST", "/api/v1/tokens", map[string]any{"name": "escalate", "scopes": []string{"write"}}); got != 403 {
		t.Errorf("read token minting a token: %d, want 403", got)
	}
	// An empty list of scopes names no rights; it is refused, not read as the default.
	if got := statusOf(t, l, sess, "POST", "/api/v1/tokens", map[string]any{"name": "none", "scopes": []string{}}); got != 400 {
		t.Errorf("a token with scopes []: %d, want 400", got)
	}

	// The list shows the token without its secret, with its last use.
	var list struct {
		Items []lathe.APIToken `json:"items"`
	}
	if err := bob.Do(ctx, "GET", "/api/v1/tokens", nil, &list); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range list.Items {
		if k.ID == ro.ID {
			found = true
			if k.Token != "" || k.LastUsed == nil {
				t.Errorf("listed token %+v: want no secret and a last-used time", k)
			}
		}
	}
	if !found {
		t.Errorf("token %d not listed", ro.ID)
	}

	// Revocation takes effect at once.
	if err := bob.Do(ctx, "DELETE", "/api/v1/tokens/"+strconv.FormatInt(ro.ID, 10), nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(t, l, ro.Token, "GET", "/api/v1/projects/shop", nil); got != 401 {
		t.Errorf("revoked token: %d, want 401", got)
	}

	// An expired token is refused.
	var short lathe.APIToken
	exp := time.Now().Add(1500 * time.Millisecond)
	if err := bob.Do(ctx, "POST", "/api/v1/tokens", map[string]any{"name": "short", "expires_at": exp}, &short); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(t, l, short.Token, "GET", "/api/v1/projects/shop", nil); got != 200 {
		t.Errorf("fresh token: %d", got)
	}
	time.Sleep(time.Until(exp) + 100*time.Millisecond)
	if got := statusOf(t, l, short.Token, "GET", "/api/v1/projects/shop", nil); got != 401 {
		t.Errorf("expired token: %d, want 401", got)
	}

	// Service accounts get tokens from admins and cannot log in.
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "deployer", "service": true}, nil)
	var svc lathe.APIToken
	l.Do(t, "POST", "/api/v1/users/deployer/tokens", map[string]any{"name": "deploy"}, &svc)
	if !strings.HasPrefix(svc.Token, "lathe_service_") {
		t.Errorf("service token %q lacks its prefix", svc.Token)
	}
	if got := statusOf(t, l, svc.Token, "GET", "/api/v1/projects/shop", nil); got != 403 {
		t.Errorf("service account without a role: %d, want 403", got)
	}
	l.Do(t, "PUT", "/api/v1/projects/shop/members/users/deployer", map[string]any{"role": "read"}, nil)
	if got := statusOf(t, l, svc.Token, "GET", "/api/v1/projects/shop", nil); got != 200 {
		t.Errorf("service account with read: %d, want 200", got)
	}
}

// A public project is readable without logging in (and listed); a private
// one is not, and writing to a public one still needs a role.
func TestPublicAndPrivateProjects(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": rbacPipeline})
	l.Do(t, "POST", "/api/v1/projects", map[string]any{"name": "open", "url": repo, "visibility": "public"}, nil)
	l.Do(t, "POST", "/api/v1/projects", map[string]any{"name": "closed", "url": repo}, nil)
	var run lathe.Run
	l.Do(t, "POST", "/api/v1/projects/open/runs", map[string]string{"pipeline": "main"}, &run)
	l.Do(t, "POST", "/api/v1/projects/closed/runs", nil, nil)

	if got := statusOf(t, l, "", "GET", "/api/v1/projects/open", nil); got != 200 {
		t.Errorf("anonymous reading a public project: %d", got)
	}
	if got := statusOf(t, l, "", "GET", "/api/v1/runs/"+strconv.FormatInt(run.ID, 10), nil); got != 200 {
		t.Errorf("anonymous reading a public project's run: %d", got)
	}
	if got := statusOf(t, l, "", "GET", "/api/v1/projects/closed", nil); got != 401 {
		t.Errorf("anonymous reading a private project: %d, want 401", got)
	}
	if got := statusOf(t, l, "", "POST", "/api/v1/projects/open/runs", nil); got != 401 {
		t.Errorf("anonymous triggering on a public project: %d, want 401", got)
	}
	var projects lathe.Page[*lathe.Project]
	if err := l.ClientAs(t, "").Do(context.Background(), "GET", "/api/v1/projects", nil, &projects); err != nil {
		t.Fatal(err)
	}
	if len(projects.Items) != 1 || projects.Items[0].Name != "open" {
		t.Errorf("anonymous project list: %v, want only open", projects.Items)
	}
	var runs lathe.Page[*lathe.Run]
	if err := l.ClientAs(t, "").Do(context.Background(), "GET", "/api/v1/runs", nil, &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs.Items) != 1 || runs.Items[0].Project != "open" {
		t.Errorf("anonymous run list: %d runs, want only open's", len(runs.Items))
	}
}

// Repeated logins from one client are refused with 429 and Retry-After.
func TestLoginIsRateLimited(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	var last *http.Response
	for i := 0; i < 15; i++ {
		resp, err := lathetest.HTTPClient(t).Post(l.URL+"/api/v1/sessions", "application/json", strings.NewReader(`{"username":"x","password":"y"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last = resp
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("15 logins: last %d, Retry-After %q; want 429 with Retry-After", last.StatusCode, last.Header.Get("Retry-After"))
	}
}

// The audit log records logins, tokens and role grants; admins see it all.
func TestAuditLog(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": rbacPipeline})
	l.Do(t, "POST", "/api/v1/projects", map[string]any{"name": "shop", "url": repo}, nil)
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "cy", "password": "cy-password"}, nil)
	l.Do(t, "PUT", "/api/v1/projects/shop/members/users/cy", map[string]any{"role": "owner"}, nil)
	tok := login(t, l, "cy", "cy-password")
	l.Do(t, "POST", "/api/v1/projects/shop/runs", nil, nil)
	var page struct {
		Items []struct {
			Actor, Action string
		} `json:"items"`
	}
	l.Do(t, "GET", "/api/v1/events", nil, &page)
	seen := map[string]string{}
	for _, e := range page.Items {
		seen[e.Action] = e.Actor
	}
	for action, actor := range map[string]string{"login": "cy", "role.granted": "admin", "run.triggered": "admin", "user.created": "admin"} {
		if seen[action] != actor {
			t.Errorf("audit %s by %q, want by %q (log: %v)", action, seen[action], actor, seen)
		}
	}
	if err := l.ClientAs(t, tok).Do(context.Background(), "GET", "/api/v1/projects/shop/events?type=run.triggered", nil, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Action != "run.triggered" {
		t.Errorf("owner's filtered project log: %+v", page.Items)
	}
}
