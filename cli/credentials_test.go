package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A login is kept per server and used only for that server; with no
// credential for a server a command fails, saying so, instead of printing
// an empty table; ./.lathe/admin.token serves a server on this machine only.
func TestCredentialsPerServer(t *testing.T) {
	a := lathetest.Start(t, lathetest.Options{Agents: -1})
	b := lathetest.Start(t, lathetest.Options{Agents: -1})
	a.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "dee", "password": "dee-password"}, nil)
	b.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "eve", "password": "eve-password"}, nil)
	cfg := filepath.Join(t.TempDir(), "credentials.json")
	t.Chdir(t.TempDir())
	run := func(stdin string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		env := &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string {
			if k == "LATHE_CONFIG" {
				return cfg
			}
			return ""
		}}
		return cli.Run(context.Background(), args, env), stdout.String(), stderr.String()
	}
	code, out, errOut := run("", "runs", "--server", a.URL)
	if want := "not logged in to " + a.URL + ": run lathe login"; code != 1 || out != "" || !strings.Contains(errOut, want) {
		t.Fatalf("runs with no credential: exit %d, stdout %q, stderr %q; want exit 1, nothing on stdout, %q", code, out, errOut, want)
	}
	if code, _, errOut := run("dee-password\n", "login", "dee", "--server", a.URL); code != 0 {
		t.Fatalf("login to a: %d %s", code, errOut)
	}
	if code, _, errOut := run("eve-password\n", "login", "eve", "--server", b.URL+"/"); code != 0 {
		t.Fatalf("login to b: %d %s", code, errOut)
	}
	who := func(args ...string) string {
		t.Helper()
		code, out, errOut := run("", append([]string{"token", "list", "--jq", ".items[0].user"}, args...)...)
		if code != 0 {
			t.Fatalf("token list %v: %d %s", args, code, errOut)
		}
		return strings.TrimSpace(out)
	}
	if got := who("--server", a.URL); got != "dee" {
		t.Errorf("on a the session is %q's, want dee's", got)
	}
	if got := who("--server", b.URL); got != "eve" {
		t.Errorf("on b the session is %q's, want eve's", got)
	}
	if got := who(); got != "eve" {
		t.Errorf("with no --server the last login's server answered as %q, want eve (b)", got)
	}
	if fi, err := os.Stat(cfg); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v, want mode 0600", fi, err)
	}
	b2 := lathetest.Start(t, lathetest.Options{Agents: -1})
	if code, _, errOut := run("", "runs", "--server", b2.URL); code != 1 || !strings.Contains(errOut, "not logged in to "+b2.URL) {
		t.Errorf("a server with no login of its own got another's session: exit %d %s", code, errOut)
	}
	// The admin token of ./.lathe serves local servers, never a remote one.
	if err := os.MkdirAll(".lathe", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(".lathe", "admin.token"), []byte(b2.AdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run("", "runs", "--server", b2.URL); code != 0 {
		t.Errorf("runs with ./.lathe/admin.token on a local server: %d %s", code, errOut)
	}
	if code, _, errOut := run("", "runs", "--server", "http://ci.invalid:8080"); code != 1 || !strings.Contains(errOut, "not logged in to http://ci.invalid:8080") {
		t.Errorf("the local admin token went to a remote server: exit %d %s", code, errOut)
	}
	if err := os.Remove(filepath.Join(".lathe", "admin.token")); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run("", "logout", "--server", b.URL); code != 0 || !strings.Contains(out, "logged out") {
		t.Fatalf("logout: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run("", "runs", "--server", b.URL); code != 1 || !strings.Contains(errOut, "not logged in to "+b.URL) {
		t.Errorf("after logout: exit %d %s", code, errOut)
	}
	if got := who("--server", a.URL); got != "dee" {
		t.Errorf("logout of b ended a's session too: %q", got)
	}
}
