package store_test

import (
	"errors"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// Caches are found by exact key, then by the newest of each prefix in
// order; a key is saved once; past the quota the least recently used go;
// and the caches of untrusted runs are a scope trusted runs never see (nor
// the other way round), with the scope taken from the attempt's run.
func TestCachesRestoreSaveEvictAndStayInTheirScope(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		clk := withClock(s)
		p := mustProject(t, s, "web")
		trusted := store.CacheScope{ProjectID: p.ID}
		untrusted := store.CacheScope{ProjectID: p.ID, Untrusted: true}
		put := func(sc store.CacheScope, key string, size int64, limit int64) []*lathe.Cache {
			t.Helper()
			clk.Advance(time.Second)
			_, evicted, err := s.PutCache(ctx, &lathe.Cache{ProjectID: sc.ProjectID, Untrusted: sc.Untrusted, Key: key, Size: size, SHA256: "00"}, limit)
			if err != nil {
				t.Fatalf("PutCache(%s): %v", key, err)
			}
			return evicted
		}
		find := func(sc store.CacheScope, key string, prefixes ...string) string {
			t.Helper()
			clk.Advance(time.Second)
			c, err := s.FindCache(ctx, sc, key, prefixes)
			if errors.Is(err, lathe.ErrNotFound) {
				return ""
			}
			if err != nil {
				t.Fatalf("FindCache(%s): %v", key, err)
			}
			return c.Key
		}
		put(trusted, "go-aaa", 10, 100)
		put(trusted, "go-bbb", 10, 100)
		put(trusted, "go_x", 10, 100)
		if got := find(trusted, "go-bbb", "go-"); got != "go-bbb" {
			t.Errorf("exact key found %q", got)
		}
		if got := find(trusted, "go-ccc", "node-", "go-"); got != "go-bbb" {
			t.Errorf("prefix go- found %q; want the newest, go-bbb", got)
		}
		if got := find(trusted, "goXccc", "goX"); got != "" {
			t.Errorf("prefix goX found %q; '_' must not act as a wildcard", got)
		}
		if got := find(trusted, "go-zzz", "gox"); got != "" {
			t.Errorf("no prefix matches, found %q", got)
		}
		_, _, err := s.PutCache(ctx, &lathe.Cache{ProjectID: p.ID, Key: "go-aaa", Size: 1, SHA256: "11"}, 100)
		wantErr(t, "saving a key twice", err, store.ErrCacheExists)

		// Scopes: an untrusted run's cache is invisible to trusted runs.
		put(untrusted, "go-evil", 10, 100)
		if got := find(trusted, "go-evil", "go-"); got != "go-bbb" {
			t.Errorf("trusted restore of go-evil found %q; want its own go-bbb", got)
		}
		if got := find(untrusted, "go-bbb", "go-"); got != "go-evil" {
			t.Errorf("untrusted restore found %q; want only its own scope's go-evil", got)
		}

		// Eviction: go-aaa is now the least recently used; saving 75 more
		// bytes under a quota of 100 (40 in use) evicts it and go_x.
		find(trusted, "go-bbb")
		evicted := put(trusted, "go-new", 75, 100)
		var keys []string
		for _, c := range evicted {
			keys = append(keys, c.Key)
		}
		if len(keys) != 2 || keys[0] != "go_x" || keys[1] != "go-aaa" {
			t.Errorf("evicted %v; want go_x and go-aaa, the least recently used", keys)
		}
		list, err := s.Caches(ctx, p.ID)
		if err != nil || len(list) != 3 {
			t.Fatalf("caches after eviction = %d, %v; want go-new, go-bbb, go-evil", len(list), err)
		}

		// The scope of an attempt is its run's.
		a := mustAgent(t, s, "a1")
		mustRun(t, s, p.ID, "ci", []string{"build"}, job("b", "build"))
		as := mustClaim(t, s, a)
		sc, err := s.AttemptCacheScope(ctx, a.ID, as.AttemptID)
		if err != nil || sc != trusted {
			t.Errorf("AttemptCacheScope = %+v, %v; want the trusted scope of %d", sc, err, p.ID)
		}
		_, err = s.AttemptCacheScope(ctx, mustAgent(t, s, "a2").ID, as.AttemptID)
		wantErr(t, "another agent's attempt", err, lathe.ErrForbidden)
		u := mustCreateRun(t, s, &lathe.Run{ProjectID: p.ID, Pipeline: "ci", Branch: "fork", Untrusted: true}, []string{"build"}, job("b", "build"))
		if err := s.ApproveRun(ctx, u.ID, "admin"); err != nil {
			t.Fatal(err)
		}
		as = mustClaim(t, s, a)
		if sc, err := s.AttemptCacheScope(ctx, a.ID, as.AttemptID); err != nil || sc != untrusted {
			t.Errorf("AttemptCacheScope of an untrusted run = %+v, %v; want the untrusted scope", sc, err)
		}
	})
}
