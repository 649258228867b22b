package pgtest

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// shared is the one cluster per test process. It is package state because it
// must outlive any single test; Main owns its shutdown.
var shared struct {
	once       sync.Once
	inMain     atomic.Bool // Main is running, so someone will stop the cluster
	noBinaries bool
	cluster    *Cluster
	err        error
}

// Shared returns one cluster per test process, started on first use, so a
// package's many tests pay for initdb once. Tests should still isolate their
// data with NewDatabase. It is stopped by Main, which the package's TestMain
// must call; Shared fails the test otherwise, since nothing would remove the
// cluster's files.
func Shared(tb testing.TB) *Cluster {
	tb.Helper()
	if !shared.inMain.Load() {
		tb.Fatal("pgtest: Shared needs the package's TestMain to call pgtest.Main: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }")
	}
	shared.once.Do(func() {
		binDir := findBinDir()
		if binDir == "" {
			shared.noBinaries = true
			return
		}
		shared.cluster, shared.err = start(binDir)
	})
	if shared.noBinaries {
		skipOrFail(tb)
	}
	if shared.err != nil {
		tb.Fatalf("pgtest: shared cluster: %v", shared.err)
	}
	return shared.cluster
}

// Main runs m and then stops the shared cluster if one was started. Packages
// that use Shared call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// It returns m's exit code, or 1 if the tests passed but stopping failed.
func Main(m *testing.M) int {
	shared.inMain.Store(true)
	code := m.Run()
	shared.inMain.Store(false)
	// Waits for a start still in progress, and stops any later one.
	shared.once.Do(func() {})
	if shared.cluster == nil {
		return code
	}
	if err := shared.cluster.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: stop shared cluster: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
