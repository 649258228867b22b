package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/store"
)

// The first time a server hears from an agent, last_seen is written before
// TouchAgent returns; a later record, once due, is written with the others
// due meanwhile, and at the latest when the store closes. A record never
// moves last_seen back.
func TestTouchAgentWritesFirstAtOnceThenTogether(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := t.Context()
			dsn := freshDatabase(t, engine)
			s, reader := open(t, dsn), open(t, dsn)
			c := withClock(s)
			a, b := mustAgent(t, s, "a1", "linux"), mustAgent(t, s, "b1", "linux")
			seen := func(id int64) time.Time {
				t.Helper()
				got, err := reader.Agent(ctx, strconv.FormatInt(id, 10))
				if err != nil {
					t.Fatal(err)
				}
				if got.LastSeen == nil {
					return time.Time{}
				}
				return *got.LastSeen
			}
			touch := func(id int64) {
				t.Helper()
				if err := s.TouchAgent(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			first := c.Now()
			touch(a.ID)
			if got := seen(a.ID); !got.Equal(first.Truncate(time.Microsecond)) {
				t.Fatalf("after the first touch last_seen = %v, want %v", got, first)
			}
			c.Advance(store.TouchEvery)
			later := c.Now()
			touch(a.ID)
			touch(b.ID)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got := seen(a.ID); !got.Equal(later.Truncate(time.Microsecond)) {
				t.Errorf("after a later touch and close, last_seen = %v, want %v", got, later)
			}
			if got := seen(b.ID); got.Before(first) {
				t.Errorf("b's last_seen = %v, want at least %v", got, first)
			}
		})
	}
}
