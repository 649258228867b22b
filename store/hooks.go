package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// CreateHookToken stores a project's webhook token by the hash of its secret.
func (s *Store) CreateHookToken(ctx context.Context, ht *lathe.HookToken, tokenHash string) error {
	return s.tx(ctx, func(t *txn) error {
		ht.CreatedAt = t.now
		err := t.queryRow(ctx, `INSERT INTO hook_tokens (project_id, name, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			ht.ProjectID, ht.Name, tokenHash, micros(t.now)).Scan(&ht.ID)
		if err != nil {
			return fmt.Errorf("create webhook token %q: %w", ht.Name, err)
		}
		return nil
	})
}

// HookTokens lists a project's webhook tokens (revoked ones too), oldest first.
func (s *Store) HookTokens(ctx context.Context, projectID int64) ([]*lathe.HookToken, error) {
	rows, err := s.query(ctx, `SELECT id, project_id, name, created_at, last_used, revoked_at FROM hook_tokens
		WHERE project_id = ? ORDER BY id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("webhook tokens: %w", err)
	}
	defer rows.Close()
	out := []*lathe.HookToken{}
	for rows.Next() {
		var ht lathe.HookToken
		var created int64
		var used, revoked sql.NullInt64
		if err := rows.Scan(&ht.ID, &ht.ProjectID, &ht.Name, &created, &used, &revoked); err != nil {
			return nil, err
		}
		ht.CreatedAt, ht.LastUsed, ht.RevokedAt = fromMicros(created), fromNullMicros(used), fromNullMicros(revoked)
		out = append(out, &ht)
	}
	return out, rows.Err()
}

// RevokeHookToken stops a project's webhook token at once. Revoking twice
// is not an error.
func (s *Store) RevokeHookToken(ctx context.Context, projectID, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE hook_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND project_id = ?`,
			micros(t.now), id, projectID)
		if err != nil {
			return fmt.Errorf("revoke webhook token %d: %w", id, err)
		}
		return mustAffect(res, "webhook token", id)
	})
}

// HookProject returns the project a live webhook token opens, and records
// its use; an unknown or revoked token is ErrUnauthorized.
func (s *Store) HookProject(ctx context.Context, tokenHash string) (*lathe.Project, error) {
	var projectID int64
	err := s.tx(ctx, func(t *txn) error {
		var id int64
		var revoked sql.NullInt64
		err := t.queryRow(ctx, `SELECT id, project_id, revoked_at FROM hook_tokens WHERE token_hash = ?`, tokenHash).
			Scan(&id, &projectID, &revoked)
		if err == sql.ErrNoRows || err == nil && revoked.Valid {
			return fmt.Errorf("unknown or revoked webhook token: %w", lathe.ErrUnauthorized)
		}
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, `UPDATE hook_tokens SET last_used = ? WHERE id = ?`, micros(t.now), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Project(ctx, fmt.Sprint(projectID))
}

// LastSuccess returns the commit of the newest successful run of a
// pipeline on a branch, or "" when there is none: the base that `when:
// paths` conditions compare a push against. A pull request's runs record
// the branch they target, but their commits are not on it: they do not
// count (those of a forge's pull request name it, a token hook's say
// their event).
func (s *Store) LastSuccess(ctx context.Context, projectID int64, pipeline, branch string) (string, error) {
	var commit string
	err := s.queryRow(ctx, `SELECT commit_sha FROM runs WHERE project_id = ? AND pipeline = ? AND branch = ? AND status = ?
		AND pull_request IS NULL AND event <> 'pull_request'
		ORDER BY id DESC LIMIT 1`, projectID, pipeline, branch, lathe.StatusSuccess).Scan(&commit)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return commit, err
}
