package main

import (
	"fmt"
	"syscall"
)

// ensureNoFile makes sure this process and the children it starts from now
// on may open need file descriptors: the fleet section holds one socket per
// simulated agent on each side. Go raises its own soft limit at start but
// gives children the limit it was started with, unless the program sets the
// limit itself, as this does; the server child then inherits it. It
// returns what it found and did, for the report.
func ensureNoFile(need uint64) (string, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return "", err
	}
	note := fmt.Sprintf("RLIMIT_NOFILE soft %d, hard %d: enough for %d", lim.Cur, lim.Max, need)
	if lim.Cur < need {
		if lim.Max < need {
			return "", fmt.Errorf("RLIMIT_NOFILE hard limit %d is below the %d descriptors needed; lower -fleet-agents or raise it (ulimit -Hn)", lim.Max, need)
		}
		note = fmt.Sprintf("RLIMIT_NOFILE soft limit raised from %d to %d (hard %d)", lim.Cur, need, lim.Max)
		lim.Cur = need
	}
	// Set even when unchanged, so children inherit this limit rather than
	// the one the benchmark started with.
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return "", fmt.Errorf("set RLIMIT_NOFILE: %w", err)
	}
	return note + "; the server inherits it", nil
}
