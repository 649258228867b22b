package store

import (
	"context"
	"fmt"
)

// CreateAPIToken stores an API token by the hash of its secret.
func (s *Store) CreateAPIToken(ctx context.Context, name, tokenHash string) error {
	return s.tx(ctx, func(t *txn) error {
		if _, err := t.exec(ctx, `INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?)`,
			name, tokenHash, micros(t.now)); err != nil {
			return fmt.Errorf("create token %q: %w", name, err)
		}
		return nil
	})
}

// APIToken returns the name of the token whose secret hashes to tokenHash.
func (s *Store) APIToken(ctx context.Context, tokenHash string) (string, error) {
	var name string
	if err := s.queryRow(ctx, `SELECT name FROM api_tokens WHERE token_hash = ?`, tokenHash).Scan(&name); err != nil {
		return "", notFound(err, "token", "given")
	}
	return name, nil
}
