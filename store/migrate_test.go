package store_test

import (
	"errors"
	"testing"

	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
)

// Replicas started together on a new database each apply the migrations
// at start; every one of them must start, the first applying them and the
// others finding nothing left to do.
func TestReplicasStartingTogetherAllMigrate(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	const replicas = 8 // enough that, unserialized, they collide every time
	errs := startTogether(t, dsn, replicas, func(_ int, s *store.Store) error { return s.Ready(t.Context()) })
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
}

// Replicas started together on a new database with their keys each check
// the key against the database's; the first writes the check, and every
// other then checks against it: the same key passes, another key is
// refused as the wrong key (never a clash of two inserts).
func TestReplicasStartingTogetherCheckOneKey(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	first, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	keys := [][]byte{secret.NewKey(), secret.NewKey()}
	errs := startTogether(t, dsn, 8, func(i int, s *store.Store) error { return s.CheckSecretKey(t.Context(), keyring(t, keys[i%2])) })
	passed := map[int]bool{}
	for i, err := range errs {
		switch {
		case err == nil:
			passed[i%2] = true
		case !errors.Is(err, store.ErrSecretKey):
			t.Errorf("replica %d: %v, want nil or the wrong key", i, err)
		}
	}
	if len(passed) != 1 {
		t.Errorf("replicas with each key passed: %v, want those of one key", passed)
	}
}

// startTogether opens n stores on dsn at the same instant, as n replicas
// starting together do, and returns what fn, called with each, returned
// (or the open's error).
func startTogether(t *testing.T, dsn string, n int, fn func(i int, s *store.Store) error) []error {
	errs := make([]error, n)
	fns := make([]func(), n)
	for i := range fns {
		fns[i] = func() {
			s, err := store.Open(t.Context(), dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			errs[i] = fn(i, s)
		}
	}
	together(fns...)
	return errs
}
