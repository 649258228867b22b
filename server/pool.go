package server

import (
	"context"
	"fmt"

	"github.com/lathe-ci/lathe/store"
)

// DefaultPostgresConns is the pool's bound when Config.PostgresConns is 0.
const DefaultPostgresConns = store.DefaultPostgresConns

// ExtraPostgresConns are the connections a replica opens to PostgreSQL
// beside its store's pool: the notifier's listening and sending ones and
// the leader election's session.
const ExtraPostgresConns = 3

// sizePool bounds the store's pool on PostgreSQL as configured and warns
// when PostgreSQL's limit leaves this replica less room than it may take:
// past that limit a request fails ("too many clients") instead of waiting.
func (s *Server) sizePool(ctx context.Context) {
	if s.cfg.DatabaseURL == "" {
		return
	}
	n := s.cfg.PostgresConns
	if n <= 0 {
		n = DefaultPostgresConns
	}
	s.Store.SetPostgresConns(n)
	allowed, others, err := s.Store.PostgresConnections(ctx)
	if err != nil {
		s.cfg.Log.Warn("cannot check PostgreSQL's connection limit", "err", err)
		return
	}
	if w := poolWarning(n, allowed, others); w != "" {
		s.cfg.Log.Warn(w, "pool", n, "max_connections_for_clients", allowed, "open_by_others", others)
	}
}

// poolWarning says why a replica with a pool of n connections may meet
// PostgreSQL's limit when it allows allowed client connections and others
// are open; "" when there is room.
func poolWarning(n, allowed, others int) string {
	need := n + ExtraPostgresConns
	if need <= allowed-others {
		return ""
	}
	return fmt.Sprintf("PostgreSQL has room for %d more client connections but this replica may open %d "+
		"(a pool of %d, --db-conns, and %d for notifications and leader election): under load its requests will fail "+
		"with \"too many clients\"; raise PostgreSQL's max_connections or lower --db-conns on every replica",
		max(allowed-others, 0), need, n, ExtraPostgresConns)
}
