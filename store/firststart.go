package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// A database's first start issues the built-in admin's first token, and
// only its first start: the token's secret goes to the operator once (the
// admin.token file, the `lathe up` banner) and the server never learns it
// again, so a revoked admin token stays revoked however often the server
// restarts, and a file that claims to hold the admin token is never
// believed.

// FirstStart reports whether this database has never issued its admin token.
func (s *Store) FirstStart(ctx context.Context) (bool, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM first_start`).Scan(&n); err != nil {
		return false, fmt.Errorf("first start: %w", err)
	}
	return n == 0, nil
}

// IssueFirstAdminToken stores tokenHash as the built-in admin's token with
// every scope, unless the database issued its first admin token before (an
// earlier start, or another replica starting at the same time): then it
// stores nothing and reports false.
func (s *Store) IssueFirstAdminToken(ctx context.Context, tokenHash string) (bool, error) {
	issued := false
	err := s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `INSERT INTO first_start (id, admin_token_at) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, micros(t.now))
		if err != nil {
			return fmt.Errorf("first start: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		issued = true
		return t.createToken(ctx, &lathe.APIToken{Name: "admin", User: "admin", Kind: KindToken,
			Scopes: []lathe.Scope{lathe.ScopeRead, lathe.ScopeWrite, lathe.ScopeAdmin}}, tokenHash)
	})
	return issued && err == nil, err
}
