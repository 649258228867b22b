package store

import "context"

// HangHoldingRun stands in for a replica whose host froze in the middle of
// a transaction: it locks the run in a transaction on s, closes locked, and
// waits for release before its next statement. It returns what that
// statement (or the commit) met.
func HangHoldingRun(s *Store, runID int64, locked chan<- struct{}, release <-chan struct{}) error {
	ctx := context.Background()
	return s.tx(ctx, func(t *txn) error {
		if err := t.lockRun(ctx, runID); err != nil {
			return err
		}
		close(locked)
		<-release
		_, err := t.exec(ctx, `UPDATE runs SET id = id WHERE id = ?`, runID)
		return err
	})
}

// IdleTxSetting is idle_in_transaction_session_timeout as s's sessions
// have it.
func IdleTxSetting(s *Store) (string, error) {
	var v string
	err := s.w.QueryRow(`SHOW idle_in_transaction_session_timeout`).Scan(&v)
	return v, err
}
