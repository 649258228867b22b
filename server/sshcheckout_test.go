package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/secret"
)

// sshd is a throwaway OpenSSH server on 127.0.0.1 that lets in whoever
// holds a key of its authorized_keys file.
type sshd struct {
	port       int
	authorized string // the authorized_keys file
}

// allow makes keys (authorized_keys lines) the only ones sshd lets in.
func (s *sshd) allow(t *testing.T, keys ...string) {
	t.Helper()
	if err := os.WriteFile(s.authorized, []byte(strings.Join(keys, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startSSHD starts sshd (/usr/sbin/sshd, from openssh-server) with a host
// key of its own, and stops it when the test ends. Without sshd the test
// is skipped, but fails under CI=true.
func startSSHD(t *testing.T) *sshd {
	t.Helper()
	const bin = "/usr/sbin/sshd"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: install openssh-server (.ci/run does)", bin)
		}
		t.Skipf("%s is missing: install openssh-server to test SSH checkouts", bin)
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Skipf("cannot make sshd's /run/sshd: %v", err)
	}
	dir := t.TempDir()
	_, hostKey, err := secret.GenerateSSHKey("test-host")
	if err != nil {
		t.Fatal(err)
	}
	s := &sshd{authorized: filepath.Join(dir, "authorized")}
	s.allow(t)
	if err := os.WriteFile(filepath.Join(dir, "host"), hostKey, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	config := filepath.Join(dir, "sshd_config")
	err = os.WriteFile(config, []byte(fmt.Sprintf(`ListenAddress 127.0.0.1
HostKey %s/host
AuthorizedKeysFile %s
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
PidFile %s/sshd.pid
LogLevel VERBOSE
`, dir, s.authorized, dir)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-D", "-e", "-f", config, "-p", fmt.Sprint(s.port))
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("sshd's log:\n%s", log.String())
		}
	})
	// Ready once it accepts a connection (it may still be binding).
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			c.Close()
			return s
		}
		select {
		case err := <-exited:
			t.Fatalf("sshd exited: %v\n%s", err, log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd does not accept connections on port %d: %v\n%s", s.port, err, log.String())
		}
	}
}

// sshRepo is a repository whose pipelines check the key out of the
// steps' reach: the checks print LEAK for anything they find.
func sshRepo(t *testing.T) (work, bare string) {
	checks := `
pat="$(printf 'BEGIN OPENSSH %s KEY' PRIVATE)"
if env | grep -q "$pat"; then echo "LEAK: a private key in the environment"; fi
if env | grep -q '^GIT_SSH'; then echo "LEAK: GIT_SSH in the environment"; fi
for d in "$PWD" "$HOME"; do grep -rlI "$pat" "$d" 2>/dev/null | sed 's/^/LEAK: /'; done
find "$PWD" "$HOME" "${TMPDIR:-/tmp}" -name 'lathe-ssh-*' 2>/dev/null | sed 's/^/LEAK: /'
if git config --get core.sshCommand 2>/dev/null; then echo "LEAK: sshCommand in the checkout's config"; fi
echo "checks done"`
	job := "jobs:\n  build:\n    steps:\n      - cat hello.txt\n      - |" + strings.ReplaceAll(checks, "\n", "\n        ") + "\n"
	work = lathetest.Repo(t, map[string]string{
		"hello.txt":        "hello over ssh\n",
		".lathe/ci.yml":    job,
		".lathe/gated.yml": "jobs:\n  deploy:\n    approval: {message: \"go?\"}\n    steps: [cat hello.txt]\n",
		".lathe/pr.yml":    "on:\n  pull_request: {branches: [main]}\n" + job,
	})
	bare = filepath.Join(t.TempDir(), "private.git")
	if out, err := exec.Command("git", "clone", "--quiet", "--bare", work, bare).CombinedOutput(); err != nil {
		t.Fatalf("git clone --bare: %v\n%s", err, out)
	}
	return work, bare
}

// push pushes work's main to bare.
func push(t *testing.T, work, bare string) {
	t.Helper()
	if out, err := exec.Command("git", "-C", work, "push", "--quiet", bare, "HEAD:refs/heads/main").CombinedOutput(); err != nil {
		t.Fatalf("git push: %v\n%s", err, out)
	}
}

// A project whose URL is an SSH URL is read with its own SSH key, by the
// server and by the agents' checkouts, and its steps never see the key: a
// run checks out and its steps run; without the key in the host's
// authorized_keys the checkout fails saying so; after a rotation the old
// key is no longer used; an untrusted run gets no key.
func TestSSHRepositoryIsReadWithTheProjectKey(t *testing.T) {
	d := startSSHD(t)
	work, bare := sshRepo(t)
	l := lathetest.Start(t, lathetest.Options{})
	url := fmt.Sprintf("ssh://root@127.0.0.1:%d%s", d.port, bare)
	l.Project(t, "priv", url)

	// A reader cannot make the project a key (which would replace the
	// server's as the one used); once an owner made it, readers see it.
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "rita", "password": "rita-password"}, nil)
	l.Do(t, http.MethodPut, "/api/v1/projects/priv/members/users/rita", map[string]string{"role": "read"}, nil)
	rita := l.ClientAs(t, login(t, l, "rita", "rita-password"))
	readKey := func() (string, error) {
		resp, err := rita.Request(context.Background(), http.MethodGet, "/api/v1/projects/priv/ssh-key.pub", nil, nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if _, err := readKey(); client.StatusOf(err) != http.StatusNotFound || !strings.Contains(err.Error(), "server's key") {
		t.Errorf("a reader asking for a project key not made yet: %v; want 404 pointing at the server's key", err)
	}
	code, projectKey := adminCLI(l, "project", "ssh-key", "priv")
	if code != 0 || !strings.HasPrefix(projectKey, "ssh-ed25519 ") {
		t.Fatalf("lathe project ssh-key: exit %d, %q; want an ssh-ed25519 authorized_keys line", code, projectKey)
	}
	if key, err := readKey(); err != nil || key != projectKey {
		t.Errorf("a reader asking for the project's key: %q, %v; want %q", key, err, projectKey)
	}
	code, serverKey := adminCLI(l, "ssh-key")
	if code != 0 || !strings.HasPrefix(serverKey, "ssh-ed25519 ") || serverKey == projectKey {
		t.Fatalf("lathe ssh-key: exit %d, %q; want the server's own key", code, serverKey)
	}

	// With the project's key in authorized_keys: the server resolves the
	// branch, the agent checks out, the steps run and find no key.
	d.allow(t, projectKey)
	run := l.Wait(t, l.Trigger(t, "priv", "", "ci").ID, 2*time.Minute)
	log := l.Log(t, lathetest.JobByName(t, run, "build").ID)
	if run.Status != lathe.StatusSuccess || !strings.Contains(log, "hello over ssh") || !strings.Contains(log, "checks done") {
		t.Fatalf("run over ssh = %s; want success with the file and the checks; log:\n%s", run.Status, log)
	}
	if strings.Contains(log, "LEAK") {
		t.Errorf("a step found the SSH key:\n%s", log)
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "lathe-ssh-*")); len(left) != 0 {
		t.Errorf("key directories left after the run: %v", left)
	}
	var known string
	if code, known = adminCLI(l, "project", "ssh-key", "priv", "--json", "--jq", ".known_hosts"); code != 0 || !strings.Contains(known, fmt.Sprintf("[127.0.0.1]:%d ssh-ed25519 ", d.port)) {
		t.Errorf("host keys trusted after the first contact: exit %d, %q; want sshd's key", code, known)
	}

	// Another project naming the same URL with its own key, which the
	// host does not let in, cannot read what the first project's key
	// fetched, even at a commit the server already holds.
	l.Project(t, "copycat", url)
	if code, _ := adminCLI(l, "project", "ssh-key", "copycat"); code != 0 {
		t.Fatalf("lathe project ssh-key copycat: exit %d", code)
	}
	err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/copycat/runs", map[string]string{"ref": run.Commit, "pipeline": "ci"}, nil)
	if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "Permission denied (publickey)") {
		t.Errorf("another project's run at a commit the first one fetched: %v; want 400, its key refused", err)
	}

	// The key leaves authorized_keys between the trigger and the checkout
	// (the server's key stays: the project's own key is the one used).
	lathetest.Commit(t, work, map[string]string{"hello.txt": "second\n"})
	push(t, work, bare)
	gated := l.Trigger(t, "priv", "", "gated")
	deploy := lathetest.JobByName(t, l.Run(t, gated.ID), "deploy")
	d.allow(t, serverKey)
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/approve", deploy.ID), nil, nil)
	run = l.Wait(t, gated.ID, 2*time.Minute)
	job := l.Job(t, lathetest.JobByName(t, run, "deploy").ID)
	log = l.Log(t, job.ID)
	if run.Status != lathe.StatusFailed || !strings.Contains(log, "checkout failed") || !strings.Contains(log, "Permission denied (publickey)") {
		t.Errorf("checkout without the key in authorized_keys: run %s; want failed at the checkout, saying the key was refused; log:\n%s", run.Status, log)
	}
	if a := job.Attempts; len(a) == 0 || len(a[len(a)-1].Steps) == 0 || a[len(a)-1].Steps[0].Name != "checkout" || a[len(a)-1].Steps[0].Status != lathe.StatusFailed {
		t.Errorf("the failed step is not the checkout: %+v", a)
	}

	// Rotation: the old key, still the only one authorized, is no longer
	// used, so the server cannot read the repository; the new key can.
	d.allow(t, projectKey)
	code, rotated := adminCLI(l, "project", "ssh-key", "priv", "--rotate")
	if code != 0 || !strings.HasPrefix(rotated, "ssh-ed25519 ") || rotated == projectKey {
		t.Fatalf("lathe project ssh-key --rotate: exit %d, %q; want a new key", code, rotated)
	}
	if _, now := adminCLI(l, "project", "ssh-key", "priv"); now != rotated {
		t.Errorf("key after the rotation = %q, want the rotated %q", now, rotated)
	}
	err = l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/priv/runs", map[string]string{"pipeline": "ci"}, nil)
	if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "Permission denied (publickey)") {
		t.Errorf("run after the rotation with only the old key authorized: %v; want 400, the key refused", err)
	}
	d.allow(t, rotated)
	if run := l.Wait(t, l.Trigger(t, "priv", "", "ci").ID, 2*time.Minute); run.Status != lathe.StatusSuccess {
		t.Errorf("run with the rotated key authorized = %s, log:\n%s", run.Status, l.Log(t, lathetest.JobByName(t, run, "build").ID))
	}

	// A fork's pull request, approved to run, gets no key, as it gets no
	// secrets: its checkout fails saying why.
	var tok lathe.HookToken
	l.Do(t, http.MethodPost, "/api/v1/projects/priv/hook-tokens", map[string]string{"name": "forge"}, &tok)
	var out struct{ Items []*lathe.Run }
	pr := map[string]any{"ref": "main", "event": "pull_request", "base": "main", "fork": true}
	if err := l.ClientAs(t, "").Do(context.Background(), http.MethodPost, "/api/v1/hooks/"+tok.Token, pr, &out); err != nil {
		t.Fatalf("fork pull request: %v", err)
	}
	var fork *lathe.Run
	for _, r := range out.Items {
		if r.Pipeline == "pr" {
			fork = r
		} else {
			cancelRun(t, l, r.ID) // the pipelines that run on any event
		}
	}
	if fork == nil {
		t.Fatalf("the fork's pull request started no run of pipeline pr: %d runs", len(out.Items))
	}
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/approve", fork.ID), nil, nil)
	run = l.Wait(t, fork.ID, 2*time.Minute)
	log = l.Log(t, lathetest.JobByName(t, run, "build").ID)
	if !run.Untrusted || run.Status != lathe.StatusFailed || !strings.Contains(log, "untrusted") || strings.Contains(log, "checks done") {
		t.Errorf("fork's run over ssh: untrusted %v, %s; want failed at the checkout without a key; log:\n%s", run.Untrusted, run.Status, log)
	}
}
