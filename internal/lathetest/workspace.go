package lathetest

import (
	"path/filepath"
	"testing"
	"time"
)

// Workspace waits for the one job workspace of l's embedded agents whose
// checkout holds file, and returns its directory: a test opens there the
// gates a running step waits for (`while [ ! -e gate ]; do sleep 0.05; done`).
func (l *Lathe) Workspace(tb testing.TB, file string) string {
	tb.Helper()
	pattern := filepath.Join(l.DataDir, "agents", "*", "ws", "*", file)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m, _ := filepath.Glob(pattern); len(m) == 1 {
			return filepath.Dir(m[0])
		}
	}
	tb.Fatalf("no job workspace holding %s appeared in a minute (%s)", file, pattern)
	return ""
}
