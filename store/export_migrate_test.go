package store

import (
	"context"
	"io/fs"
	"testing/fstest"

	"github.com/pressly/goose/v3"
)

// MigrateOnly applies to the database dsn names only the embedded
// migrations whose versions keep accepts, in order, as a database made by
// an older Lathe holds them. It neither checks nor applies the others.
func MigrateOnly(ctx context.Context, dsn string, keep func(version int64) bool) error {
	s, err := openDSN(dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	sub, err := fs.Sub(migrations, "migrations/"+s.d.name)
	if err != nil {
		return err
	}
	entries, err := fs.ReadDir(sub, ".")
	if err != nil {
		return err
	}
	kept := fstest.MapFS{}
	for _, e := range entries {
		v, err := goose.NumericComponent(e.Name())
		if err != nil {
			return err
		}
		if !keep(v) {
			continue
		}
		data, err := fs.ReadFile(sub, e.Name())
		if err != nil {
			return err
		}
		kept[e.Name()] = &fstest.MapFile{Data: data}
	}
	dialect := goose.DialectSQLite3
	if s.d.name == "postgres" {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, s.w, kept)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// NewestMigration is the highest version of the embedded migrations.
func NewestMigration() int64 {
	var newest int64
	for _, name := range []string{"sqlite", "postgres"} {
		entries, _ := fs.ReadDir(migrations, "migrations/"+name)
		for _, e := range entries {
			if v, err := goose.NumericComponent(e.Name()); err == nil {
				newest = max(newest, v)
			}
		}
	}
	return newest
}
