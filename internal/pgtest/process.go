package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serverUser is the OS account initdb and postgres run as when the tests run
// as root, since both refuse to run as root.
const serverUser = "postgres"

// serverCredential returns the credential to run initdb and postgres with:
// nil when not root, the postgres user's uid and gid when root.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		return nil, fmt.Errorf("running as root, so initdb and postgres must run as OS user %q: %w", serverUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse uid %q of OS user %q: %w", u.Uid, serverUser, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse gid %q of OS user %q: %w", u.Gid, serverUser, err)
	}
	// An empty Groups drops root's supplementary groups.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// makeClusterDir creates the cluster's directory under os.TempDir() with mode
// 0755, owned by cred's user if given. It is made here rather than with
// t.TempDir() because t.TempDir()'s parents are 0700 and root-owned, which the
// postgres user could not traverse.
func makeClusterDir(cred *syscall.Credential) (string, error) {
	dir, err := os.MkdirTemp("", "lathe-pgtest-")
	if err != nil {
		return "", fmt.Errorf("create cluster directory: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("chmod cluster directory %s: %w", dir, err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("chown cluster directory %s to %s: %w", dir, serverUser, err)
		}
	}
	return dir, nil
}

// command builds a child process in dir, in its own process group so it can
// be killed with everything it forked, and killed by the kernel if the thread
// that started it dies (Pdeathsig), so a crashed test leaves no server
// behind. When ctx ends the whole group is killed. cred, if non-nil, is the
// user to run as; Go applies Pdeathsig after switching users, which matters
// because the kernel clears it on a credential change.
func command(ctx context.Context, cred *syscall.Credential, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = childEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Output pipes held open by a stray grandchild must not block Wait.
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// childEnv is the test process's environment without PG* variables, which
// would otherwise redirect createdb or psql to some other server, and with a
// bounded connect timeout for the client tools.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return append(env, "PGCONNECT_TIMEOUT=10")
}
