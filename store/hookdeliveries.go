package store

import (
	"context"
	"fmt"
	"time"
)

// DeliveryWindow is how long a forge hook's delivery ID is remembered: a
// replay within it starts nothing.
const DeliveryWindow = 24 * time.Hour

// TakeDelivery records a hook delivery of a project by the forge's ID for
// it; fresh is false when the delivery was already taken within
// DeliveryWindow. Older deliveries are forgotten on the way.
func (s *Store) TakeDelivery(ctx context.Context, projectID int64, delivery string) (fresh bool, err error) {
	err = s.tx(ctx, func(t *txn) error {
		if _, err := t.exec(ctx, `DELETE FROM hook_deliveries WHERE received_at < ?`, micros(t.now.Add(-DeliveryWindow))); err != nil {
			return fmt.Errorf("prune hook deliveries: %w", err)
		}
		res, err := t.exec(ctx, `INSERT INTO hook_deliveries (project_id, delivery, received_at) VALUES (?, ?, ?)
			ON CONFLICT (project_id, delivery) DO NOTHING`, projectID, delivery, micros(t.now))
		if err != nil {
			return fmt.Errorf("record hook delivery %q: %w", delivery, err)
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	})
	return fresh, err
}

// ForgetDelivery lets a delivery that could not be handled be taken again
// (a forge redelivers it under the same ID).
func (s *Store) ForgetDelivery(ctx context.Context, projectID int64, delivery string) error {
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `DELETE FROM hook_deliveries WHERE project_id = ? AND delivery = ?`, projectID, delivery)
		return err
	})
}

// PullRequestRuns lists the unfinished runs of a project's pull request.
func (s *Store) PullRequestRuns(ctx context.Context, projectID, pullRequest int64) ([]int64, error) {
	rows, err := s.query(ctx, `SELECT id FROM runs WHERE project_id = ? AND pull_request = ? AND status NOT IN (`+terminalList+`)
		ORDER BY id`, projectID, pullRequest)
	if err != nil {
		return nil, fmt.Errorf("runs of pull request %d: %w", pullRequest, err)
	}
	return scanColumn[int64](rows)
}
