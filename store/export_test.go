package store

import (
	"context"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// SetJobStatus writes a job's status through setStatus, the one status
// write every writer of the store uses.
func SetJobStatus(ctx context.Context, s *Store, id int64, from, to lathe.Status) error {
	return s.tx(ctx, func(t *txn) error { return t.setStatus(ctx, engine.Job, id, from, to, ``) })
}

// ExpireListed runs the sweep's expiry of one attempt as the sweep does once
// its listing (read outside any transaction) named the attempt as expired:
// tests call it after changing the attempt, to stand in the window between
// that listing and the transaction that re-checks the lease under the run's
// lock. It reports whether the attempt was marked lost.
func ExpireListed(ctx context.Context, s *Store, attemptID int64, retries int) (bool, error) {
	c := candidate{attemptID: attemptID}
	if err := s.queryRow(ctx, `SELECT a.job_id, j.run_id FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE a.id = ?`,
		attemptID).Scan(&c.jobID, &c.runID); err != nil {
		return false, err
	}
	lost, _, err := s.expireLease(ctx, c, retries)
	return lost, err
}

// SetPrepare turns the prepared-statement caches on or off (benchmarks
// compare the two on each engine).
func SetPrepare(s *Store, on bool) {
	s.wStmts.close()
	s.rStmts.close()
	s.wStmts, s.rStmts = nil, nil
	if on {
		s.wStmts = newStmtCache(s.w, s.d)
		s.rStmts = s.wStmts
		if s.r != s.w {
			s.rStmts = newStmtCache(s.r, s.d)
		}
	}
}

// ClaimIdleTTL is how long a claim that found nothing vouches for the next.
const ClaimIdleTTL = claimIdleTTL

// TouchEvery is how often an agent's last_seen is written at most.
const TouchEvery = touchEvery

// BackendAfterSleep holds one of the store's connections to PostgreSQL
// for seconds and returns that connection's backend PID.
func BackendAfterSleep(ctx context.Context, s *Store, seconds float64) (int, error) {
	var pid int
	err := s.r.QueryRowContext(ctx, `SELECT pg_backend_pid() FROM pg_sleep($1)`, seconds).Scan(&pid)
	return pid, err
}
