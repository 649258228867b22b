package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

func (s *Store) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+s.d.name)
	if err != nil {
		return nil, err
	}
	if s.d.name == "postgres" {
		return goose.NewProvider(goose.DialectPostgres, s.w, sub, goose.WithSessionLocker(migrationLocker{}))
	}
	return goose.NewProvider(goose.DialectSQLite3, s.w, sub)
}

// migrate applies every embedded migration the database has not seen yet.
func (s *Store) migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// Ready reports an error unless the database answers and every migration is applied.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	p, err := s.provider()
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	if pending {
		return fmt.Errorf("database has pending migrations")
	}
	return nil
}
