package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/store"
)

// mainWithGaps are the migrations main held at some commit whose newest
// migration was newest while it lacked lacking, merged later from a branch
// that numbered them lower. A Lathe built at such a commit made databases
// that way; each must upgrade to the same schema as a new database.
var mainWithGaps = []struct {
	newest  int64
	lacking []int64
}{
	{20, []int64{17, 19}},
	{45, []int64{30, 31, 35, 40, 41}},
	{80, []int64{70}},
	{102, []int64{90}},
	{115, []int64{95}},
	{120, []int64{119}},
}

func TestUpgradeFromDatabaseLackingMigrationsMergedLater(t *testing.T) {
	ctx := t.Context()
	engines := []struct {
		name   string
		newDSN func(t *testing.T) string
		read   func(ctx context.Context, t *testing.T, dsn string) schema
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "lathe.db") }, readSQLiteSchema},
		{"postgres", func(t *testing.T) string { return pgtest.Shared(t).NewDatabase(t) }, readPostgresSchema},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			fresh := e.newDSN(t)
			open(t, fresh)
			want := e.read(ctx, t, fresh)
			for _, gap := range mainWithGaps {
				t.Run(fmt.Sprintf("newest %d", gap.newest), func(t *testing.T) {
					dsn := e.newDSN(t)
					if err := store.MigrateOnly(ctx, dsn, func(v int64) bool {
						for _, l := range gap.lacking {
							if v == l {
								return false
							}
						}
						return v <= gap.newest
					}); err != nil {
						t.Fatalf("migrate as the older Lathe did: %v", err)
					}
					s, err := store.Open(ctx, dsn)
					if err != nil {
						t.Fatalf("open with this Lathe: %v", err)
					}
					defer s.Close()
					if err := s.Ready(ctx); err != nil {
						t.Fatalf("Ready: %v", err)
					}
					got := e.read(ctx, t, dsn)
					for _, d := range diffSchemas(want, got) {
						d = strings.NewReplacer("sqlite says", "a new database has", "postgres says", "the upgraded one has").Replace(d)
						t.Error(d)
					}
				})
			}
		})
	}
}

// A database a newer Lathe migrated is refused, with the versions this
// Lathe does not know, and left as it was.
func TestOpenRefusesDatabaseOfNewerLathe(t *testing.T) {
	ctx := t.Context()
	newer := store.NewestMigration() + 1
	for _, e := range []struct {
		name, driver, insert string
		newDSN               func(t *testing.T) string
		sqlDSN               func(string) string
	}{
		{"sqlite", "sqlite", `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, 1)`,
			func(t *testing.T) string { return filepath.Join(t.TempDir(), "lathe.db") },
			func(dsn string) string { return "file:" + dsn }},
		{"postgres", "pgx", `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`,
			func(t *testing.T) string { return pgtest.Shared(t).NewDatabase(t) },
			func(dsn string) string { return dsn }},
	} {
		t.Run(e.name, func(t *testing.T) {
			dsn := e.newDSN(t)
			s, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			db, err := sql.Open(e.driver, e.sqlDSN(dsn))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.ExecContext(ctx, e.insert, newer); err != nil {
				t.Fatalf("record a newer Lathe's migration: %v", err)
			}
			var before int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version`).Scan(&before); err != nil {
				t.Fatal(err)
			}

			s, err = store.Open(ctx, dsn)
			if err == nil {
				s.Close()
				t.Fatal("Open of a database a newer Lathe migrated succeeded; want it refused")
			}
			if !errors.Is(err, store.ErrSchemaNewer) {
				t.Errorf("Open: %v; want ErrSchemaNewer", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(newer)) {
				t.Errorf("Open: %q does not name migration %d", err, newer)
			}
			var after int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version`).Scan(&after); err != nil {
				t.Fatal(err)
			}
			if after != before {
				t.Errorf("goose_db_version rows: %d after the refused Open, %d before", after, before)
			}
		})
	}
}

func readSQLiteSchema(ctx context.Context, t *testing.T, path string) schema {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := sqliteSchema(ctx, db)
	if err != nil {
		t.Fatalf("read the SQLite schema: %v", err)
	}
	return s
}

func readPostgresSchema(ctx context.Context, t *testing.T, dsn string) schema {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := postgresSchema(ctx, db)
	if err != nil {
		t.Fatalf("read the PostgreSQL schema: %v", err)
	}
	return s
}
