package store_test

import (
	"sync"
	"testing"

	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/store"
)

// A store on PostgreSQL opens no more connections than SetPostgresConns
// allows: requests beyond it wait for one (rather than failing on
// PostgreSQL's max_connections), and the store reads PostgreSQL's limit.
func TestPostgresConnsBound(t *testing.T) {
	s := open(t, pgtest.Shared(t).NewDatabase(t))
	s.SetPostgresConns(2)
	var mu sync.Mutex
	pids := map[int]bool{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			pid, err := store.BackendAfterSleep(t.Context(), s, 0.2)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			pids[pid] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(pids) == 0 || len(pids) > 2 {
		t.Errorf("6 concurrent requests ran on %d connections, want at most 2", len(pids))
	}
	allowed, others, err := s.PostgresConnections(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The test cluster runs with max_connections=200, 3 reserved.
	if allowed != 197 || others < 0 {
		t.Errorf("PostgreSQL allows %d client connections, %d held by others; want 197", allowed, others)
	}
}
