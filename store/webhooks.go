package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// A project's webhooks. Each write recomputes the project's outbound bits
// (see outbox.go) in the same transaction, so the next status change of
// one of its runs queues what the webhooks now want.

// webhookAD is the identity of a webhook's sealed secret.
func webhookAD(projectID, id int64) []byte {
	return fmt.Appendf(nil, "project:%d/webhook:%d", projectID, id)
}

const webhookCols = `w.id, p.name, w.url, w.events, w.active, w.created_at, w.created_by, w.updated_at`

const webhookFrom = ` FROM webhooks w JOIN projects p ON p.id = w.project_id`

func scanWebhook(row interface{ Scan(...any) error }) (*lathe.Webhook, error) {
	var w lathe.Webhook
	var events string
	var active int
	var created, updated int64
	if err := row.Scan(&w.ID, &w.Project, &w.URL, &events, &active, &created, &w.CreatedBy, &updated); err != nil {
		return nil, err
	}
	if err := fromJSON(events, &w.Events); err != nil {
		return nil, fmt.Errorf("webhook %d events: %w", w.ID, err)
	}
	w.Active, w.CreatedAt, w.UpdatedAt = active != 0, fromMicros(created), fromMicros(updated)
	return &w, nil
}

// CreateWebhook stores a project's webhook with its secret sealed by k.
func (s *Store) CreateWebhook(ctx context.Context, k Sealer, projectID int64, w *lathe.Webhook, secret string) error {
	return s.tx(ctx, func(t *txn) error {
		now := micros(t.now)
		err := t.queryRow(ctx, `INSERT INTO webhooks (project_id, url, events, active, key_id, secret, created_at, created_by, updated_at)
			VALUES (?, ?, ?, ?, '', '', ?, ?, ?) RETURNING id`,
			projectID, w.URL, jsonText(w.Events), boolInt(w.Active), now, w.CreatedBy, now).Scan(&w.ID)
		if err != nil {
			return fmt.Errorf("create webhook: %w", err)
		}
		if err := t.sealWebhookSecret(ctx, k, projectID, w.ID, secret); err != nil {
			return err
		}
		w.CreatedAt, w.UpdatedAt = t.now, t.now
		return t.setOutbound(ctx, projectID)
	})
}

func (t *txn) sealWebhookSecret(ctx context.Context, k Sealer, projectID, id int64, secret string) error {
	keyID, ct := k.Seal([]byte(secret), webhookAD(projectID, id))
	_, err := t.exec(ctx, `UPDATE webhooks SET key_id = ?, secret = ? WHERE id = ?`, keyID, encodeCT(ct), id)
	return err
}

// Webhooks lists a project's webhooks (without their secrets).
func (s *Store) Webhooks(ctx context.Context, projectID int64) ([]*lathe.Webhook, error) {
	rows, err := s.query(ctx, `SELECT `+webhookCols+webhookFrom+` WHERE w.project_id = ? ORDER BY w.id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Webhook returns one webhook of a project.
func (s *Store) Webhook(ctx context.Context, projectID, id int64) (*lathe.Webhook, error) {
	w, err := scanWebhook(s.queryRow(ctx, `SELECT `+webhookCols+webhookFrom+` WHERE w.project_id = ? AND w.id = ?`, projectID, id))
	if err != nil {
		return nil, notFound(err, "webhook", id)
	}
	return w, nil
}

// WebhookPatch is a change of a webhook; nil fields stay as they are.
type WebhookPatch struct {
	URL    *string
	Events []string
	Active *bool
	Secret *string
}

// UpdateWebhook changes a webhook; a new secret is sealed by k.
func (s *Store) UpdateWebhook(ctx context.Context, k Sealer, projectID, id int64, p WebhookPatch) (*lathe.Webhook, error) {
	err := s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE webhooks SET updated_at = ? WHERE project_id = ? AND id = ?`, micros(t.now), projectID, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "webhook", id); err != nil {
			return err
		}
		if p.URL != nil {
			if _, err := t.exec(ctx, `UPDATE webhooks SET url = ? WHERE id = ?`, *p.URL, id); err != nil {
				return err
			}
		}
		if p.Events != nil {
			if _, err := t.exec(ctx, `UPDATE webhooks SET events = ? WHERE id = ?`, jsonText(p.Events), id); err != nil {
				return err
			}
		}
		if p.Active != nil {
			if _, err := t.exec(ctx, `UPDATE webhooks SET active = ? WHERE id = ?`, boolInt(*p.Active), id); err != nil {
				return err
			}
		}
		if p.Secret != nil {
			if err := t.sealWebhookSecret(ctx, k, projectID, id, *p.Secret); err != nil {
				return err
			}
		}
		return t.setOutbound(ctx, projectID)
	})
	if err != nil {
		return nil, err
	}
	return s.Webhook(ctx, projectID, id)
}

// DeleteWebhook removes a webhook with its deliveries.
func (s *Store) DeleteWebhook(ctx context.Context, projectID, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `DELETE FROM webhooks WHERE project_id = ? AND id = ?`, projectID, id)
		if err != nil {
			return fmt.Errorf("delete webhook %d: %w", id, err)
		}
		if err := mustAffect(res, "webhook", id); err != nil {
			return err
		}
		return t.setOutbound(ctx, projectID)
	})
}

// sealedWebhookRows adds the webhooks' sealed secrets to out (see sealedRows).
func (t *txn) sealedWebhookRows(ctx context.Context, out []sealedRow, onePerKey bool) ([]sealedRow, error) {
	q := `SELECT id, project_id, key_id, secret FROM webhooks`
	if onePerKey {
		q += ` WHERE id IN (SELECT MIN(id) FROM webhooks GROUP BY key_id)`
	}
	rows, err := t.query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read webhook secrets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r sealedRow
		var pid int64
		if err := rows.Scan(&r.key, &pid, &r.keyID, &r.text); err != nil {
			return nil, err
		}
		r.table, r.ad = "webhooks", webhookAD(pid, r.key)
		out = append(out, r)
	}
	return out, rows.Err()
}
