package store_test

import (
	"sync"
	"testing"

	"github.com/lathe-ci/lathe/internal/pgtest"
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
