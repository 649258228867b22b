package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
)

// The server's secret keys: the current key seals new values, old keys
// (kept after a rotation until `lathe secrets reencrypt` has run) still
// open older ones. The current key comes from cfg.SecretKey (env
// LATHE_SECRET_KEY, base64) or else the key file, which may also list old
// keys after the current one (see secret.ParseKeys); more old keys come
// from cfg.OldSecretKeyFiles.

// keyFile is where the key file is: cfg.SecretKeyFile or <data>/secret.key.
func keyFile(cfg Config) string {
	if cfg.SecretKeyFile != "" {
		return cfg.SecretKeyFile
	}
	return filepath.Join(cfg.DataDir, "secret.key")
}

// loadKeyring builds the keyring from the configuration. When no key is
// given at all and create is set, it makes a new key file (mode 0600) and
// reports created.
func loadKeyring(cfg Config, create bool) (k *secret.Keyring, created bool, err error) {
	var keys [][]byte
	switch {
	case cfg.SecretKey != "":
		key, err := secret.DecodeKey(cfg.SecretKey)
		if err != nil {
			return nil, false, fmt.Errorf("LATHE_SECRET_KEY: %w", err)
		}
		keys = append(keys, key)
	default:
		path := keyFile(cfg)
		keys, err = secret.ReadKeyFile(path)
		if errors.Is(err, fs.ErrNotExist) && create {
			key, cerr := secret.CreateKeyFile(path)
			if cerr != nil {
				return nil, false, cerr
			}
			keys, created = [][]byte{key}, true
		} else if err != nil {
			return nil, false, err
		}
	}
	for _, f := range cfg.OldSecretKeyFiles {
		old, err := secret.ReadKeyFile(f)
		if err != nil {
			return nil, false, fmt.Errorf("old secret key: %w", err)
		}
		keys = append(keys, old...)
	}
	k, err = secret.NewKeyring(keys[0], keys[1:]...)
	return k, created, err
}

// openKeyring loads the keyring and checks that it opens what the
// database holds; a server with the wrong key refuses to start. A key file
// made just now is removed again if the database needs another key.
func openKeyring(ctx context.Context, cfg Config, st *store.Store, create bool) (*secret.Keyring, error) {
	k, created, err := loadKeyring(cfg, create)
	if err != nil {
		return nil, err
	}
	if err := st.CheckSecretKey(ctx, k); err != nil {
		hint := "give the key that sealed them with --secret-key-file or LATHE_SECRET_KEY (or, after a rotation, the old one with --old-secret-key-file)"
		if created {
			os.Remove(keyFile(cfg))
			hint = fmt.Sprintf("the key file %s was missing; restore it, or %s", keyFile(cfg), hint)
		}
		return nil, fmt.Errorf("%w; %s", err, hint)
	}
	return k, nil
}

// Reencrypt seals every stored secret value again under the current key
// (after a rotation, with the old keys configured too), so the old keys
// can then be dropped. It returns how many values it re-sealed. It works
// on the database directly and is safe while servers run, if they have
// the new key.
func Reencrypt(ctx context.Context, cfg Config) (int, error) {
	dsn := cfg.DatabaseURL
	if dsn == "" {
		dsn = filepath.Join(cfg.DataDir, "lathe.db")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	k, err := openKeyring(ctx, cfg, st, false)
	if err != nil {
		return 0, err
	}
	return st.ReencryptSecrets(ctx, k)
}
