package store_test

import (
	"errors"
	"sync"
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
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(t.Context(), dsn)
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = s.Ready(t.Context())
			s.Close()
		}()
	}
	wg.Wait()
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
	const replicas = 8
	keys := [][]byte{secret.NewKey(), secret.NewKey()}
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(t.Context(), dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			errs[i] = s.CheckSecretKey(t.Context(), keyring(t, keys[i%2]))
		}()
	}
	wg.Wait()
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
