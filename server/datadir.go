package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lathe-ci/lathe/auth"
	"github.com/lathe-ci/lathe/store"
)

// The data directory holds the database, the secret key and the admin
// token, so it is the operator's alone: mode 0700, its files 0600, even
// when it existed before Lathe (the default, ./.lathe, is also where a
// checkout keeps its pipelines).

// dataFileMode is the mode of every file Lathe keeps in its data directory.
const dataFileMode = 0o600

// sqliteFiles are the SQLite database and the files SQLite keeps beside it.
var sqliteFiles = []string{"lathe.db", "lathe.db-wal", "lathe.db-shm"}

// prepareDataDir makes dir (or narrows an existing one) to mode 0700 and
// makes the SQLite database file 0600 before SQLite opens it: SQLite gives
// its -wal and -shm files the database file's mode.
func prepareDataDir(dir string, sqlite bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !sqlite {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(dir, sqliteFiles[0]), os.O_RDWR|os.O_CREATE, dataFileMode)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return f.Close()
}

// narrowDataFiles sets the SQLite files of an existing data directory
// (made before Lathe set their modes, or by a wider umask) to 0600.
func narrowDataFiles(dir string) error {
	for _, name := range sqliteFiles {
		if err := os.Chmod(filepath.Join(dir, name), dataFileMode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("data directory: %w", err)
		}
	}
	return nil
}

// refuseForeignFiles refuses, at a database's first start, a data
// directory that already holds an admin token or a secret key: Lathe did
// not write them (its database is new), so they may come from a checkout
// (a committed .lathe/admin.token) and must not become the admin's
// credential or the key that seals secrets.
func refuseForeignFiles(cfg Config) error {
	names := []string{adminTokenFile}
	if cfg.SecretKeyFile == "" && cfg.SecretKey == "" {
		names = append(names, "secret.key")
	}
	for _, name := range names {
		path := filepath.Join(cfg.DataDir, name)
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("data directory %s holds %s but its database is new, so Lathe did not write it; "+
				"remove it, or choose another data directory with --data", cfg.DataDir, name)
		}
	}
	return nil
}

// adminTokenFile is where the first start leaves the admin token for the operator.
const adminTokenFile = "admin.token"

// issueAdminToken makes the database's first admin token at its first
// start and writes it, once, to the data directory for the operator. It
// returns "" on every later start: the server never reads a token back
// from the file, so a revoked admin token stays revoked.
func issueAdminToken(ctx context.Context, st *store.Store, dataDir string) (string, error) {
	path := filepath.Join(dataDir, adminTokenFile)
	token, hash := auth.NewToken(auth.PrefixUser)
	// O_EXCL: never through a link someone left in the directory.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, dataFileMode)
	if err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	_, err = f.WriteString(token + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("write admin token: %w", err)
	}
	issued, err := st.IssueFirstAdminToken(ctx, hash)
	if err != nil || !issued {
		// Another replica's first start won the race: its token is the one.
		os.Remove(path)
		return "", err
	}
	return token, nil
}
