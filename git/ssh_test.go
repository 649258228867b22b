package git

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIsSSH(t *testing.T) {
	for url, want := range map[string]bool{
		"ssh://git@example.com/org/repo.git":      true,
		"ssh://git@example.com:2222/org/repo.git": true,
		"git+ssh://git@example.com/repo":          true,
		"git@github.com:org/repo.git":             true,
		"example.com:repo":                        true,
		"https://example.com/org/repo.git":        false,
		"git://example.com/repo":                  false,
		"file:///srv/repo.git":                    false,
		"/srv/repo.git":                           false,
		"./a:b":                                   false,
		"ext::sh -c evil":                         false,
	} {
		if got := IsSSH(url); got != want {
			t.Errorf("IsSSH(%q) = %v, want %v", url, got, want)
		}
	}
}

// A hold with SSH puts the command in GIT_SSH_COMMAND, which beats any of
// the environment's, with the key alone, no prompt and the project's own
// known_hosts.
func TestHoldWithSSH(t *testing.T) {
	dir, ssh, err := WriteSSHFiles([]byte("KEY"), "host ssh-ed25519 AAAA\n")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for _, f := range []string{ssh.KeyFile, ssh.KnownHosts} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 || filepath.Dir(f) != dir {
			t.Errorf("%s: %v, %v; want mode 0600 in %s", f, fi.Mode(), err, dir)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode %v, want 0700", fi.Mode().Perm())
	}
	hold := Hold{"-c", "http.followRedirects=false"}.WithSSH(ssh)
	env := sshEnv(hold.args("fetch", "origin"))
	if len(env) == 0 || !strings.HasPrefix(env[0], "GIT_SSH_COMMAND=ssh -i '"+ssh.KeyFile+"' ") {
		t.Fatalf("env = %q; want GIT_SSH_COMMAND with the key", env)
	}
	for _, opt := range []string{"IdentitiesOnly=yes", "BatchMode=yes", "UserKnownHostsFile='" + ssh.KnownHosts + "'", "StrictHostKeyChecking=accept-new"} {
		if !strings.Contains(env[0], "-o "+opt) {
			t.Errorf("%s lacks -o %s", env[0], opt)
		}
	}
	ssh.Strict = true
	if !strings.Contains(ssh.Command(), "StrictHostKeyChecking=yes") {
		t.Errorf("strict command = %s", ssh.Command())
	}
	if env := sshEnv(Hold{"-c", "http.followRedirects=false"}.args("fetch", "-c", "core.sshCommand=x")); env != nil {
		t.Errorf("sshEnv read past the hold into git's arguments: %q", env)
	}
	if !slices.Contains(hold, "http.followRedirects=false") {
		t.Errorf("WithSSH lost the hold's options: %q", hold)
	}
}
