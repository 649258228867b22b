package store

import (
	"context"
	"fmt"
)

// DefaultPostgresConns is how many connections a store on PostgreSQL opens
// at most (SetPostgresConns changes it). Each server replica adds its
// notifier's and leader election's own (see server.ExtraPostgresConns), so
// PostgreSQL's max_connections (100 by default) must cover every replica's
// sum: at 16, five replicas.
const DefaultPostgresConns = 16

// SetPostgresConns bounds the connections the store opens to PostgreSQL
// (n > 0). Requests beyond it wait for a connection instead of failing on
// PostgreSQL's limit. On SQLite it changes nothing: one writer and four
// readers, whatever n is.
func (s *Store) SetPostgresConns(n int) {
	if s.d.name != "postgres" || n <= 0 {
		return
	}
	s.w.SetMaxOpenConns(n)
	s.w.SetMaxIdleConns(n)
}

// PostgresConnections reads how many client connections PostgreSQL accepts
// (max_connections less those reserved for superusers) and how many others
// hold now: every client's but this store's own. On SQLite it returns
// zeros.
func (s *Store) PostgresConnections(ctx context.Context) (allowed, others int, err error) {
	if s.d.name != "postgres" {
		return 0, 0, nil
	}
	err = s.r.QueryRowContext(ctx, `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int,
		(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')`).Scan(&allowed, &others)
	if err != nil {
		return 0, 0, fmt.Errorf("read PostgreSQL's connection limit: %w", err)
	}
	return allowed, max(others-s.w.Stats().OpenConnections, 0), nil
}
