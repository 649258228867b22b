package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// The delivery loop's side of the outbox (outbox.go writes it): claim what
// is due, record each try. Statuses of one run and context go out one at a
// time, oldest first, so a forge never sees them out of order; one that
// failed and waits for its next try is superseded by a newer state instead.

const deliveryCols = `d.id, d.kind, d.run_id, d.webhook_id, d.context, d.state, d.message_id, d.status, d.target, d.http_code,
	d.attempts, d.error, d.redelivery_of, d.created_at, d.updated_at, d.next_at, d.delivered_at`

func scanDelivery(row interface{ Scan(...any) error }) (*lathe.Delivery, error) {
	var d lathe.Delivery
	var run, hook, code, redelivery, next, delivered sql.NullInt64
	var created, updated int64
	err := row.Scan(&d.ID, &d.Kind, &run, &hook, &d.Context, &d.State, &d.MessageID, &d.Status, &d.Target, &code,
		&d.Attempts, &d.Error, &redelivery, &created, &updated, &next, &delivered)
	if err != nil {
		return nil, err
	}
	d.RunID, d.WebhookID, d.HTTPCode, d.RedeliveryOf = run.Int64, hook.Int64, int(code.Int64), redelivery.Int64
	d.CreatedAt, d.UpdatedAt, d.NextAt, d.DeliveredAt = fromMicros(created), fromMicros(updated), fromNullMicros(next), fromNullMicros(delivered)
	return &d, nil
}

func (s *Store) deliveries(ctx context.Context, q string, args ...any) ([]*lathe.Delivery, error) {
	rows, err := s.query(ctx, `SELECT `+deliveryCols+` FROM deliveries d WHERE `+q, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.addTries(ctx, out)
}

// addTries reads the tries of the deliveries.
func (s *Store) addTries(ctx context.Context, ds []*lathe.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	byID := map[int64]*lathe.Delivery{}
	args := make([]any, len(ds))
	for i, d := range ds {
		d.Tries, byID[d.ID], args[i] = []lathe.DeliveryTry{}, d, d.ID
	}
	rows, err := s.query(ctx, `SELECT delivery_id, tried_at, http_code, error FROM delivery_tries
		WHERE delivery_id IN (`+placeholders(len(ds))+`) ORDER BY id`, args...)
	if err != nil {
		return fmt.Errorf("delivery tries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, at int64
		var code sql.NullInt64
		var try lathe.DeliveryTry
		if err := rows.Scan(&id, &at, &code, &try.Error); err != nil {
			return err
		}
		try.At, try.HTTPCode = fromMicros(at), int(code.Int64)
		byID[id].Tries = append(byID[id].Tries, try)
	}
	return rows.Err()
}

// RunStatuses lists the commit statuses of a run, in the order they were queued.
func (s *Store) RunStatuses(ctx context.Context, runID int64) ([]*lathe.Delivery, error) {
	return s.deliveries(ctx, `d.run_id = ? AND d.kind = ? ORDER BY d.id`, runID, lathe.DeliveryStatus)
}

// WebhookDeliveries lists a webhook's deliveries, newest first.
func (s *Store) WebhookDeliveries(ctx context.Context, webhookID, before int64, limit int) (lathe.Page[*lathe.Delivery], error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	items, err := s.deliveries(ctx, `d.webhook_id = ? AND d.id < ? ORDER BY d.id DESC LIMIT ?`, webhookID, before, limit+1)
	if err != nil {
		return lathe.Page[*lathe.Delivery]{}, err
	}
	return page(items, limit, func(d *lathe.Delivery) int64 { return d.ID }), nil
}

// delivery reads one delivery.
func (s *Store) delivery(ctx context.Context, id int64) (*lathe.Delivery, error) {
	ds, err := s.deliveries(ctx, `d.id = ?`, id)
	if err != nil || len(ds) == 0 {
		return nil, notFound(sql.ErrNoRows, "delivery", id)
	}
	return ds[0], nil
}

// Redeliver queues a webhook's delivery again: a new delivery of the same
// message (same webhook-id and body), sent as soon as the loop sees it.
func (s *Store) Redeliver(ctx context.Context, webhookID, id int64) (*lathe.Delivery, error) {
	var newID int64
	err := s.tx(ctx, func(t *txn) error {
		now := micros(t.now)
		err := t.queryRow(ctx, `INSERT INTO deliveries (project_id, kind, run_id, webhook_id, context, message_id, payload, status,
				next_at, created_at, updated_at, redelivery_of)
			SELECT project_id, kind, run_id, webhook_id, context, message_id, payload, ?, ?, ?, ?, id
			FROM deliveries WHERE id = ? AND webhook_id = ? AND kind = ? RETURNING id`,
			lathe.DeliveryQueued, now, now, now, id, webhookID, lathe.DeliveryWebhook).Scan(&newID)
		if err != nil {
			return notFound(err, "delivery", id)
		}
		t.afterCommit = append(t.afterCommit, func(s *Store) { s.outboxChanged() })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.delivery(ctx, newID)
}

// ResendStatus queues again the commit status of a run's current state,
// for a forge that missed it (its token was wrong, its API was down past
// the tries): the forge then shows the run as it is now. A project that
// reports no commit statuses (no repository on a connected forge) refuses
// it with ErrConflict.
func (s *Store) ResendStatus(ctx context.Context, runID int64) (*lathe.Delivery, error) {
	var newID int64
	err := s.tx(ctx, func(t *txn) error {
		r, err := scanRun(t.queryRow(ctx, `SELECT `+runCols+` FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = ?`, runID))
		if err != nil {
			return notFound(err, "run", runID)
		}
		var outbound int
		if err := t.queryRow(ctx, `SELECT outbound FROM projects WHERE id = ?`, r.ProjectID).Scan(&outbound); err != nil {
			return fmt.Errorf("project of run %d: %w", r.ID, err)
		}
		if outbound&outStatuses == 0 {
			return fmt.Errorf("project %s reports no commit statuses: give it a repository on a forge connection first: %w", r.Project, lathe.ErrConflict)
		}
		now := micros(t.now)
		err = t.queryRow(ctx, `INSERT INTO deliveries (project_id, kind, run_id, context, state, status, next_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.ProjectID, lathe.DeliveryStatus, r.ID, StatusContext(r.Pipeline, r.Event),
			StatusState(r.Status), lathe.DeliveryQueued, now, now, now).Scan(&newID)
		if err != nil {
			return fmt.Errorf("queue the status of run %d again: %w", r.ID, err)
		}
		t.afterCommit = append(t.afterCommit, func(s *Store) { s.outboxChanged() })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.delivery(ctx, newID)
}

// Outgoing is a claimed delivery with what sending it needs.
type Outgoing struct {
	lathe.Delivery
	ProjectID int64
	// A status's run: its commit, pipeline and number.
	Commit    string
	Pipeline  string
	RunNumber int64
	// A webhook message: the webhook's URL, its secret (opened) and the body.
	URL     string
	Secret  string
	Payload []byte
	// OpenErr says why the webhook's secret did not open (it is not sent).
	OpenErr error
}

// NextDelivery is when the earliest queued delivery is due (false: none is queued).
func (s *Store) NextDelivery(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MIN(next_at) FROM deliveries WHERE status = ?`, lathe.DeliveryQueued).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("next delivery: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMicros(next.Int64), true, nil
}

// ClaimDeliveries claims up to limit deliveries that are due, for lease
// (another loop, on another replica, takes them only once it has passed),
// and opens the webhook secrets they need with k.
func (s *Store) ClaimDeliveries(ctx context.Context, k Sealer, limit int, lease time.Duration) ([]*Outgoing, error) {
	var ids []int64
	err := s.tx(ctx, func(t *txn) error {
		now := micros(t.now)
		// A status that failed and waits for another try gives way to a
		// newer state of its run and context.
		if _, err := t.exec(ctx, `UPDATE deliveries SET status = ?, next_at = NULL, updated_at = ?
			WHERE status = ? AND kind = ? AND attempts > 0 AND (claimed_until IS NULL OR claimed_until < ?)
			AND EXISTS (SELECT 1 FROM deliveries n WHERE n.kind = deliveries.kind AND n.run_id = deliveries.run_id
				AND n.context = deliveries.context AND n.id > deliveries.id)`,
			lathe.DeliverySuperseded, now, lathe.DeliveryQueued, lathe.DeliveryStatus, now); err != nil {
			return fmt.Errorf("supersede statuses: %w", err)
		}
		rows, err := t.query(ctx, `SELECT d.id FROM deliveries d
			WHERE d.status = ? AND d.next_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until < ?)
			AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE d.kind = ? AND o.kind = d.kind AND o.run_id = d.run_id
				AND o.context = d.context AND o.id < d.id AND o.status = ?)
			ORDER BY d.next_at, d.id LIMIT ?`,
			lathe.DeliveryQueued, now, now, lathe.DeliveryStatus, lathe.DeliveryQueued, limit)
		if err != nil {
			return fmt.Errorf("due deliveries: %w", err)
		}
		due, err := scanColumn[int64](rows)
		if err != nil {
			return err
		}
		until := micros(t.now.Add(lease))
		for _, id := range due {
			res, err := t.exec(ctx, `UPDATE deliveries SET claimed_until = ?
				WHERE id = ? AND status = ? AND (claimed_until IS NULL OR claimed_until < ?)`, until, id, lathe.DeliveryQueued, now)
			if err != nil {
				return fmt.Errorf("claim delivery %d: %w", id, err)
			}
			if n, err := res.RowsAffected(); err == nil && n == 1 {
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Outgoing, 0, len(ids))
	for _, id := range ids {
		o, err := s.outgoing(ctx, k, id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// outgoing reads a claimed delivery with its run or webhook.
func (s *Store) outgoing(ctx context.Context, k Sealer, id int64) (*Outgoing, error) {
	var o Outgoing
	var run, hook, code, redelivery, next, delivered sql.NullInt64
	var created, updated int64
	var payload, keyID, sealed string
	err := s.queryRow(ctx, `SELECT d.id, d.kind, d.run_id, d.webhook_id, d.context, d.state, d.message_id, d.status, d.target,
			d.http_code, d.attempts, d.error, d.redelivery_of, d.created_at, d.updated_at, d.next_at, d.delivered_at,
			d.project_id, d.payload, COALESCE(r.commit_sha, ''), COALESCE(r.pipeline, ''), COALESCE(r.number, 0),
			COALESCE(w.url, ''), COALESCE(w.key_id, ''), COALESCE(w.secret, '')
		FROM deliveries d LEFT JOIN runs r ON r.id = d.run_id LEFT JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?`, id).
		Scan(&o.ID, &o.Kind, &run, &hook, &o.Context, &o.State, &o.MessageID, &o.Status, &o.Target,
			&code, &o.Attempts, &o.Error, &redelivery, &created, &updated, &next, &delivered,
			&o.ProjectID, &payload, &o.Commit, &o.Pipeline, &o.RunNumber, &o.URL, &keyID, &sealed)
	if err != nil {
		return nil, notFound(err, "delivery", id)
	}
	o.RunID, o.WebhookID, o.HTTPCode, o.RedeliveryOf = run.Int64, hook.Int64, int(code.Int64), redelivery.Int64
	o.CreatedAt, o.UpdatedAt, o.NextAt, o.DeliveredAt = fromMicros(created), fromMicros(updated), fromNullMicros(next), fromNullMicros(delivered)
	o.Payload = []byte(payload)
	if o.Kind == lathe.DeliveryWebhook {
		if k == nil {
			o.OpenErr = fmt.Errorf("this server has no secret key to open the webhook's secret with")
		} else if v, err := openRow(k, keyID, sealed, webhookAD(o.ProjectID, o.WebhookID)); err != nil {
			o.OpenErr = fmt.Errorf("the webhook's secret does not open: %v", err)
		} else {
			o.Secret = string(v)
		}
	}
	return &o, nil
}

// Try is the outcome of one try of a delivery.
type Try struct {
	// Code is the answer's HTTP status (0: none came); Err what went wrong.
	Code int
	Err  string
	// Target is the link sent (a status) or the URL posted to (a webhook).
	Target string
	// Delivered: the receiver took it. Otherwise Retry is when to try
	// again, or zero to give up; Skipped says there was nothing to send it to.
	Delivered bool
	Skipped   bool
	Retry     time.Time
}

// RecordTry records a try of a claimed delivery and releases its claim. A
// status to be tried again is superseded instead when a newer state of
// its run and context is queued.
func (s *Store) RecordTry(ctx context.Context, id int64, try Try) error {
	return s.tx(ctx, func(t *txn) error {
		now := micros(t.now)
		status, next, delivered, attempts := lathe.DeliveryFailed, sql.NullInt64{}, sql.NullInt64{}, 1
		switch {
		case try.Delivered:
			status, delivered = lathe.DeliveryDelivered, sql.NullInt64{Int64: now, Valid: true}
		case try.Skipped:
			status, attempts = lathe.DeliverySkipped, 0
		case !try.Retry.IsZero():
			var newer int
			if err := t.queryRow(ctx, `SELECT count(*) FROM deliveries d JOIN deliveries n ON n.kind = d.kind
				AND n.run_id = d.run_id AND n.context = d.context AND n.id > d.id WHERE d.id = ? AND d.kind = ?`,
				id, lathe.DeliveryStatus).Scan(&newer); err != nil {
				return err
			}
			status, next = lathe.DeliveryQueued, sql.NullInt64{Int64: micros(try.Retry), Valid: true}
			if newer > 0 {
				status, next = lathe.DeliverySuperseded, sql.NullInt64{}
			}
		}
		var code sql.NullInt64
		if try.Code != 0 {
			code = sql.NullInt64{Int64: int64(try.Code), Valid: true}
		}
		res, err := t.exec(ctx, `UPDATE deliveries SET status = ?, attempts = attempts + ?, http_code = ?, error = ?, target = ?,
			next_at = ?, delivered_at = ?, claimed_until = NULL, updated_at = ? WHERE id = ?`,
			status, attempts, code, try.Err, try.Target, next, delivered, now, id)
		if err != nil {
			return fmt.Errorf("record delivery %d: %w", id, err)
		}
		if err := mustAffect(res, "delivery", id); err != nil || try.Skipped {
			return err
		}
		_, err = t.exec(ctx, `INSERT INTO delivery_tries (delivery_id, tried_at, http_code, error) VALUES (?, ?, ?, ?)`,
			id, now, code, try.Err)
		return err
	})
}

// ReleaseDelivery gives a claimed delivery back untried (its server is
// stopping), for the next loop to take at once.
func (s *Store) ReleaseDelivery(ctx context.Context, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `UPDATE deliveries SET claimed_until = NULL WHERE id = ?`, id)
		return err
	})
}
