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

// provider is goose over this engine's embedded migrations. Migrations may
// be applied out of order: branches merged into main have brought in
// migrations numbered below ones main already had (00119 after 00120,
// among others), so a database made by a Lathe built between the two has
// the higher one and lacks the lower; the lower one is applied then.
func (s *Store) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+s.d.name)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithAllowOutofOrder(true)}
	if s.d.name == "postgres" {
		opts = append(opts, goose.WithSessionLocker(migrationLocker{}))
		return goose.NewProvider(goose.DialectPostgres, s.w, sub, opts...)
	}
	return goose.NewProvider(goose.DialectSQLite3, s.w, sub, opts...)
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
