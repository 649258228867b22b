package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A throwaway PostgreSQL server for the benchmark, launched the way
// internal/pgtest launches one (which needs a testing.TB, so it cannot be
// used from a command): initdb and postgres from /usr/lib/postgresql/*/bin,
// run as the postgres OS user when we are root, in a temporary directory,
// listening on 127.0.0.1 only, and always stopped.
//
// Unlike pgtest's, this cluster keeps fsync on: only synchronous_commit is
// off, which is the durability SQLite gets in Lathe (WAL with
// synchronous=NORMAL: a commit does not wait for the disk).

const pgInstallRoot = "/usr/lib/postgresql"

// pgSettings are the server settings the benchmark's cluster runs with.
var pgSettings = []string{"listen_addresses=127.0.0.1", "synchronous_commit=off", "max_connections=100", "lc_messages=C"}

type pgCluster struct {
	dir     string
	port    int
	version string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// pgBinDir returns the bin directory of the newest installed PostgreSQL
// with initdb and postgres, or "".
func pgBinDir() string {
	dirs, _ := filepath.Glob(filepath.Join(pgInstallRoot, "*", "bin"))
	best, bestV := "", -1.0
	for _, dir := range dirs {
		if !isExecutable(filepath.Join(dir, "initdb")) || !isExecutable(filepath.Join(dir, "postgres")) {
			continue
		}
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		if v > bestV {
			best, bestV = dir, v
		}
	}
	return best
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// startPostgres initialises and starts a cluster; the caller must stop it.
func startPostgres(ctx context.Context, binDir string) (*pgCluster, error) {
	cred, err := pgCredential()
	if err != nil {
		return nil, err
	}
	// Not under the benchmark's temp dir: its 0700 parents would keep the
	// postgres user out.
	dir, err := os.MkdirTemp("", "lathe-bench-pg-")
	if err != nil {
		return nil, err
	}
	c := &pgCluster{dir: dir, version: filepath.Base(filepath.Dir(binDir)), exited: make(chan struct{})}
	if err := c.setup(ctx, binDir, cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func (c *pgCluster) setup(ctx context.Context, binDir string, cred *syscall.Credential) error {
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return err
	}
	if cred != nil {
		if err := os.Chown(c.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("chown %s to postgres: %w", c.dir, err)
		}
	}
	initCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	initdb := pgCommand(initCtx, cred, c.dir, filepath.Join(binDir, "initdb"),
		"-D", filepath.Join(c.dir, "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, tailString(string(out), 20))
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	logPath := filepath.Join(c.dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	args := []string{"-D", filepath.Join(c.dir, "data"), "-p", strconv.Itoa(port), "-k", c.dir}
	for _, s := range pgSettings {
		args = append(args, "-c", s)
	}
	c.cmd = pgCommand(context.Background(), cred, c.dir, filepath.Join(binDir, "postgres"), args...)
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		log, _ := os.ReadFile(logPath)
		if bytes.Contains(log, []byte("database system is ready to accept connections")) {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited during startup: %v\n%s", c.waitErr, tailString(string(log), 20))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.kill()
			return fmt.Errorf("postgres not ready after 30s\n%s", tailString(string(log), 20))
		}
	}
}

// stop shuts the server down (fast shutdown, then kill) and removes its files.
func (c *pgCluster) stop() error {
	var err error
	select {
	case <-c.exited:
		err = fmt.Errorf("postgres had exited: %v", c.waitErr)
	default:
		c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			err = c.kill()
		}
	}
	return errors.Join(err, os.RemoveAll(c.dir))
}

func (c *pgCluster) kill() error {
	syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-c.exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("postgres (pid %d) survived SIGKILL", c.cmd.Process.Pid)
	}
}

// pgCredential is who runs initdb and postgres: us, or the postgres user
// when we are root (both refuse to run as root).
func pgCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, so postgres must run as OS user postgres: %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// pgCommand runs a PostgreSQL program in its own process group, killed
// with us (Pdeathsig) and without PG* variables from our environment.
func pgCommand(ctx context.Context, cred *syscall.Credential, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkLoopbackURL refuses a database URL that is not on this machine: the
// benchmark only ever talks to 127.0.0.1.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("-postgres: %q is not a postgres:// URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-postgres: %s is not a loopback address; the benchmark only talks to this machine", host)
}
