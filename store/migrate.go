package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

// ErrSchemaNewer means the database holds migrations this Lathe does not
// have: a newer Lathe migrated it. Running an older Lathe on it would read
// and write a schema it was not made for, so Open refuses.
var ErrSchemaNewer = errors.New("the database was migrated by a newer Lathe")

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

// migrate applies every embedded migration the database has not seen yet,
// after checking that the database has none this Lathe does not know.
func (s *Store) migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if err := s.checkNotNewer(ctx, p); err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// checkNotNewer returns ErrSchemaNewer, naming the versions, when the
// database records a migration that p does not have. It only reads: a
// database without goose's table is new.
func (s *Store) checkNotNewer(ctx context.Context, p *goose.Provider) error {
	exists := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'`
	if s.d.name == "postgres" {
		exists = `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'goose_db_version'`
	}
	var n int
	if err := s.w.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return fmt.Errorf("read the database's migrations: %w", err)
	}
	if n == 0 {
		return nil
	}
	rows, err := s.w.QueryContext(ctx, `SELECT DISTINCT version_id FROM goose_db_version WHERE version_id > 0`)
	if err != nil {
		return fmt.Errorf("read the database's migrations: %w", err)
	}
	var applied []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("read the database's migrations: %w", err)
		}
		applied = append(applied, v)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read the database's migrations: %w", err)
	}
	known := map[int64]bool{}
	var newest int64
	for _, src := range p.ListSources() {
		known[src.Version] = true
		newest = max(newest, src.Version)
	}
	var unknown []string
	slices.Sort(applied)
	for _, v := range applied {
		if !known[v] {
			unknown = append(unknown, strconv.FormatInt(v, 10))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	return fmt.Errorf("%w: it has migration %s, and this Lathe knows migrations up to %d; "+
		"downgrading is not supported: run a Lathe at least as new as the one that migrated it, "+
		"or restore a backup taken before the upgrade", ErrSchemaNewer, strings.Join(unknown, ", "), newest)
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
