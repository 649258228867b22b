package server_test

import (
	"context"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// gitHTTP serves the repository dir over git's smart HTTP protocol (git
// http-backend) at /repo.git on 127.0.0.1, asking for user:password when
// user is set, and returns the base URL.
func gitHTTP(t *testing.T, dir, user, password string) string {
	t.Helper()
	return gitHTTPOn(t, "127.0.0.1:0", dir, user, password)
}

func gitHTTPOn(t *testing.T, addr, dir, user, password string) string {
	t.Helper()
	root := t.TempDir()
	lathetest.Git(t, root, "clone", "-q", "--bare", dir, "repo.git")
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{Path: gitBin, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	return serveOn(t, addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); user != "" && (u != user || p != password) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
}

// serveOn serves h on addr until the test ends and returns its base URL.
func serveOn(t *testing.T, addr string, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// ownerClient makes user olive, owner of project, and returns her client.
func ownerClient(t *testing.T, l *lathetest.Lathe, project string) *client.Client {
	t.Helper()
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "olive", "password": "a long enough password"}, nil)
	var tok lathe.APIToken
	l.Do(t, http.MethodPost, "/api/v1/users/olive/tokens", map[string]any{"name": "cli"}, &tok)
	l.Do(t, http.MethodPut, "/api/v1/projects/"+project+"/members/users/olive", map[string]any{"role": "owner"}, nil)
	return l.ClientAs(t, tok.Token)
}

// Credentials in a project URL clone the repository, but are sealed like
// a secret: the API shows the URL as http://***@host/…, and neither the
// database, an error nor the server's log holds them.
func TestProjectURLCredentialsAreASecret(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		const token, wrong = "s3cr3t-url-token-4711", "wr0ng-url-token-0815"
		var log lathetest.SyncBuffer
		o.Log = &log
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps: [test -f .lathe.yml]\n"})
		base := gitHTTP(t, repo, "ci", token)
		withCreds := strings.Replace(base, "http://", "http://ci:"+token+"@", 1) + "/repo.git"
		shown := strings.Replace(base, "http://", "http://***@", 1) + "/repo.git"

		p := l.Project(t, "cred", withCreds)
		var got lathe.Project
		l.Do(t, http.MethodGet, "/api/v1/projects/cred", nil, &got)
		if p.URL != shown || got.URL != shown {
			t.Errorf("the API shows the URL as %q and %q, want %q", p.URL, got.URL, shown)
		}
		if run := l.Wait(t, l.Trigger(t, "cred", "", "").ID, 60*time.Second); run.Status != lathe.StatusSuccess {
			t.Errorf("run with the URL's credentials: %s\n%s", run.Status, l.Log(t, run.Jobs[0].ID))
		}

		l.Do(t, http.MethodPatch, "/api/v1/projects/cred", map[string]string{"url": strings.Replace(withCreds, token, wrong, 1)}, nil)
		err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/cred/runs", map[string]string{"ref": "main"}, nil)
		if ce, ok := err.(*client.Error); !ok || ce.Status != http.StatusBadRequest || strings.Contains(ce.Detail, wrong) {
			t.Errorf("trigger with wrong credentials: %v, want a 400 that does not show them", err)
		}
		dsn := o.DatabaseURL
		if dsn == "" {
			dsn = filepath.Join(l.DataDir, "lathe.db")
		}
		for where, text := range map[string]string{"database": string(lathetest.Dump(t, dsn)), "log": log.String()} {
			for _, secret := range []string{token, wrong} {
				if strings.Contains(text, secret) {
					t.Errorf("the %s holds the URL's credentials %q", where, secret)
				}
			}
		}
	})
}

// Only an admin may point a project at a path on the server, another
// transport or a private address; nobody may point one into the server's
// data directory (its mirrors of other projects, its keys).
func TestProjectURLPolicy(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps: [true]\n"})
	l.Project(t, "p", repo)
	olive := ownerClient(t, l, "p")
	ctx := context.Background()
	patch := func(c *client.Client, url string) error {
		return c.Do(ctx, http.MethodPatch, "/api/v1/projects/p", map[string]string{"url": url}, nil)
	}
	for _, tt := range []struct{ url, says string }{
		{repo + "/.", "only an admin may build from local paths"},
		{"file://" + repo, "only an admin may build from local paths"},
		{"http://127.0.0.1:9/repo.git", "loopback, link-local or private"},
		{"http://localhost:9/repo.git", "loopback, link-local or private"},
		{"https://169.254.169.254/latest/meta-data", "loopback, link-local or private"},
		{"ssh://git@10.1.2.3/repo.git", "loopback, link-local or private"},
		{"git@[::1]:repo.git", "loopback, link-local or private"},
		{"ext::sh -c touch% /tmp/pwned", "ext transport needs an admin"},
	} {
		err := patch(olive, tt.url)
		if ce, ok := err.(*client.Error); !ok || ce.Status != http.StatusBadRequest || !strings.Contains(ce.Detail, tt.says) {
			t.Errorf("owner setting url %s: %v, want 400 saying %q", tt.url, err, tt.says)
		}
	}
	linked := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(l.DataDir, linked); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{l.DataDir, filepath.Join(l.DataDir, "git", "0123456789abcdef.git"), "file://" + l.DataDir + "/git", linked + "/git"} {
		if err := patch(l.Client, url); client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "data directory") {
			t.Errorf("admin setting url %s: %v, want 400 naming the data directory", url, err)
		}
	}
	if err := patch(l.Client, repo+"/"); err != nil {
		t.Errorf("admin setting a local path: %v", err)
	}
}

// An admin's allow-list lets non-admins use private networks; the policy
// is checked again whenever the server contacts the repository, so taking
// a network off the list stops a URL already set.
func TestProjectURLAllowListIsCheckedAtUse(t *testing.T) {
	dir := t.TempDir()
	o := lathetest.Options{DataDir: dir, Agents: -1, RepoNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	l := lathetest.Start(t, o)
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps: [true]\n"})
	l.Project(t, "p", repo)
	olive := ownerClient(t, l, "p")
	ctx := context.Background()
	if err := olive.Do(ctx, http.MethodPatch, "/api/v1/projects/p", map[string]string{"url": gitHTTP(t, repo, "", "") + "/repo.git"}, nil); err != nil {
		t.Fatalf("owner setting an allowed private URL: %v", err)
	}
	if err := olive.Do(ctx, http.MethodPost, "/api/v1/projects/p/runs", map[string]string{}, nil); err != nil {
		t.Fatalf("trigger from an allowed private URL: %v", err)
	}
	l.Stop()

	o.RepoNetworks = nil
	l = lathetest.Start(t, o)
	err := l.Client.Do(ctx, http.MethodPost, "/api/v1/projects/p/runs", map[string]string{}, nil)
	if ce, ok := err.(*client.Error); !ok || ce.Status != http.StatusBadRequest || !strings.Contains(ce.Detail, "loopback, link-local or private") {
		t.Errorf("trigger after the network left the allow-list: %v, want 400", err)
	}
}

// A non-admin's https or http URL reaches only the address the policy
// checked: git is held to it and follows no redirect, so an allowed host
// cannot send the server on to one that is not.
func TestProjectURLFollowsNoRedirectForNonAdmins(t *testing.T) {
	o := lathetest.Options{Agents: -1, RepoNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	l := lathetest.Start(t, o)
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps: [true]\n"})
	hidden := gitHTTPOn(t, "127.0.0.2:0", repo, "", "")
	redirector := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, hidden+r.URL.RequestURI(), http.StatusFound)
	}))
	l.Project(t, "p", repo)
	olive := ownerClient(t, l, "p")
	ctx := context.Background()
	if err := olive.Do(ctx, http.MethodPatch, "/api/v1/projects/p", map[string]string{"url": redirector + "/repo.git"}, nil); err != nil {
		t.Fatalf("owner setting an allowed URL: %v", err)
	}
	if err := olive.Do(ctx, http.MethodPost, "/api/v1/projects/p/runs", map[string]string{}, nil); client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("trigger through a redirect to a host off the allow-list: %v, want 400", err)
	}
	// The same URL set by an admin follows the redirect, as git does.
	l.Do(t, http.MethodPatch, "/api/v1/projects/p", map[string]string{"url": redirector + "/repo.git/"}, nil)
	l.Trigger(t, "p", "", "")
}
