package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// An admin creates a user; the user logs in with --password-stdin, the
// session lands in a 0600 file, and later commands use it.
func TestLoginAndUserCommands(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	cfg := filepath.Join(t.TempDir(), "credentials.json")
	run := func(stdin string, args ...string) (int, string) {
		var out bytes.Buffer
		env := &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out, Getenv: func(k string) string {
			if k == "LATHE_CONFIG" {
				return cfg
			}
			return ""
		}}
		return cli.Run(context.Background(), args, env), out.String()
	}
	if code, out := run("dee-password\n", "user", "create", "dee", "--server", l.URL, "--token", l.AdminToken); code != 0 {
		t.Fatalf("user create: %d %s", code, out)
	}
	if code, out := run("", "user", "list", "--server", l.URL, "--token", l.AdminToken); code != 0 || !strings.Contains(out, "dee") {
		t.Fatalf("user list: %d %s", code, out)
	}
	if code, out := run("wrong\n", "login", "dee", "--password-stdin", "--server", l.URL); code == 0 {
		t.Fatalf("login with a wrong password succeeded: %s", out)
	}
	if code, out := run("dee-password\n", "login", "dee", "--password-stdin", "--server", l.URL); code != 0 {
		t.Fatalf("login: %d %s", code, out)
	}
	if fi, err := os.Stat(cfg); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v, want mode 0600", fi, err)
	}
	// The stored session (and server) serve the next command: dee is no
	// admin, so listing users is refused by the server, not for lack of a token.
	if code, out := run("", "user", "list"); code == 0 || !strings.Contains(out, "needs admin") {
		t.Fatalf("user list as dee: %d %s", code, out)
	}
	if code, out := run("dee-password\nnew-password\n", "user", "passwd"); code != 0 {
		t.Fatalf("passwd: %d %s", code, out)
	}
	// The new password logs in; the old one no longer does.
	if code, out := run("dee-password\n", "login", "dee", "--password-stdin", "--server", l.URL); code == 0 {
		t.Errorf("login with the old password after passwd succeeded: %s", out)
	}
	if code, out := run("new-password\n", "login", "dee", "--password-stdin", "--server", l.URL); code != 0 {
		t.Errorf("login with the new password: %d %s", code, out)
	}
}
