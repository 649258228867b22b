package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// initdbTimeout bounds initdb, which normally takes a second or two.
const initdbTimeout = 60 * time.Second

// Cluster is one running throwaway PostgreSQL server.
type Cluster struct {
	binDir string
	dir    string // holds data/, the socket and the server log; removed by Stop
	cred   *syscall.Credential
	srv    *server
	paused bool // Pause stopped srv; Resume starts a new one

	dbSeq atomic.Int64 // numbers the databases made by NewDatabase

	stopOnce sync.Once
	stopErr  error
}

// Start starts a new cluster for tb and stops it (and deletes its files) in
// tb.Cleanup. With no PostgreSQL binaries it skips tb, or fails it when
// LATHE_REQUIRE_POSTGRES is set to a non-empty value other than "0".
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	binDir := findBinDir()
	if binDir == "" {
		skipOrFail(tb)
	}
	c, err := start(binDir)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// skipOrFail ends tb because no server binaries are installed.
func skipOrFail(tb testing.TB) {
	tb.Helper()
	if postgresRequired() {
		tb.Fatalf("%s (%s is set)", noBinariesMessage, requirePostgresEnv)
	}
	tb.Skip(noBinariesMessage)
}

// start creates and starts a cluster from the binaries in binDir without
// tying its life to a test; the caller must Stop it.
func start(binDir string) (*Cluster, error) {
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := makeClusterDir(cred)
	if err != nil {
		return nil, err
	}
	c := &Cluster{binDir: binDir, dir: dir, cred: cred}
	if err := c.initdb(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	srv, err := launchServer(binDir, dir, cred)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.srv = srv
	return c, nil
}

// initdb creates the data directory. fsync is skipped: a test cluster's data
// need not survive a crash.
func (c *Cluster) initdb() error {
	ctx, cancel := context.WithTimeout(context.Background(), initdbTimeout)
	defer cancel()
	cmd := command(ctx, c.cred, c.dir, filepath.Join(c.binDir, "initdb"),
		"-D", filepath.Join(c.dir, "data"),
		"-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", initdbTimeout, err)
	}
	if err != nil {
		return fmt.Errorf("initdb in %s: %w\n%s", c.dir, err, tail(out))
	}
	return nil
}

// Port is the TCP port the server listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.srv.port }

// Stop shuts the server down and deletes its files. It is safe to call more
// than once; later calls return the first call's result. It reports an error
// if the server had died before Stop was called.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		if c.paused {
			// Nothing runs.
		} else if err := c.srv.shutdown(); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove cluster directory: %w", err))
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}
