package store

import (
	"context"
	"time"
)

// SetClock makes the store read the time from now (tests of leases and
// timeouts move it instead of sleeping).
func SetClock(s *Store, now func() time.Time) { s.now = now }

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
