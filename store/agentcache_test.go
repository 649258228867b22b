package store_test

import (
	"errors"
	"slices"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/notify"
	"github.com/lathe-ci/lathe/store"
)

// Agent credentials are cached for store.AgentCredentialTTL, but a change
// this store makes to an agent or its groups shows on the next read; one
// made through another replica shows once the TTL has passed.
func TestAgentCredentialCache(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := t.Context()
			dsn := freshDatabase(t, engine)
			s, other := open(t, dsn), open(t, dsn) // two replicas of one database
			c := withClock(s)
			a := mustAgent(t, s, "a1", "linux")
			hash := "hash-of-a1"
			read := func(h string) (*lathe.Agent, error) { return s.AgentByToken(ctx, h) }
			must := func(what string) *lathe.Agent {
				t.Helper()
				got, err := read(hash)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				return got
			}
			set := func(st *store.Store, ch store.AgentChange) {
				t.Helper()
				if err := st.UpdateAgents(ctx, map[int64]store.AgentChange{a.ID: ch}); err != nil {
					t.Fatal(err)
				}
			}
			yes, no := true, false

			// What a caller changes in what it got is not cached.
			got := must("first read")
			got.Disabled, got.Labels[0] = true, "changed"
			if got := must("cached read"); got.Disabled || got.Labels[0] != "linux" {
				t.Fatalf("the cache kept a caller's change: %+v", got)
			}

			// Another replica's disable: within the TTL this store may
			// still admit the agent; after it, it must not.
			set(other, store.AgentChange{Disabled: &yes})
			if must("within the TTL").Disabled {
				t.Log("(the other replica's disable showed at once: the cache was cold)")
			}
			c.Advance(store.AgentCredentialTTL)
			if !must("after the TTL").Disabled {
				t.Fatal("another replica's disable not seen after the TTL")
			}

			// This store's own changes show at once.
			set(s, store.AgentChange{Disabled: &no})
			if must("re-enabled here").Disabled {
				t.Fatal("this store's enable not seen at once")
			}
			set(s, store.AgentChange{Disabled: &yes})
			if !must("disabled here").Disabled {
				t.Fatal("this store's disable not seen at once")
			}
			set(s, store.AgentChange{Disabled: &no})
			g := &lathe.AgentGroup{Name: "gpu"}
			if err := s.CreateGroup(ctx, g); err != nil {
				t.Fatal(err)
			}
			must("before joining the group")
			if err := s.SetGroupMembers(ctx, g.ID, []int64{a.ID}, true); err != nil {
				t.Fatal(err)
			}
			if got := must("after joining the group"); !slices.Contains(got.Labels, "group:gpu") {
				t.Fatalf("labels %q after joining gpu, want group:gpu among them", got.Labels)
			}

			// A new credential: the old one is refused at once.
			if err := s.PutAgent(ctx, &lathe.Agent{Name: "a1", Labels: []string{"linux"}}, "rotated"); err != nil {
				t.Fatal(err)
			}
			if _, err := read(hash); !errors.Is(err, lathe.ErrNotFound) {
				t.Fatalf("old credential after rotation: %v, want not found", err)
			}
			if _, err := read("rotated"); err != nil {
				t.Fatalf("new credential: %v", err)
			}

			// Deleted: refused at once.
			if err := s.DeleteAgent(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := read("rotated"); !errors.Is(err, lathe.ErrNotFound) {
				t.Fatalf("credential of a deleted agent: %v, want not found", err)
			}
		})
	}
}

// Replicas whose notifiers hear each other empty their credential caches
// when another changes an agent: the change shows at once, long before
// the TTL.
func TestAgentCredentialCacheHearsOtherReplicas(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := t.Context()
			dsn := freshDatabase(t, engine)
			s, other := open(t, dsn), open(t, dsn)
			n := notify.NewLocal() // stands for a notifier between the two
			s.SetNotifier(n)
			other.SetNotifier(n)
			a := mustAgent(t, s, "a1", "linux")
			if got, err := s.AgentByToken(ctx, "hash-of-a1"); err != nil || got.Disabled {
				t.Fatalf("first read: %+v, %v", got, err)
			}
			yes := true
			if err := other.UpdateAgents(ctx, map[int64]store.AgentChange{a.ID: {Disabled: &yes}}); err != nil {
				t.Fatal(err)
			}
			if got, err := s.AgentByToken(ctx, "hash-of-a1"); err != nil || !got.Disabled {
				t.Fatalf("after another replica's disable: %+v, %v; want disabled at once", got, err)
			}
		})
	}
}

// A change of one agent heard from another replica drops that agent's
// entry alone: the others stay cached (a fleet's caches survive one agent's
// new host or disable), while a change of a group drops every entry.
func TestAgentCredentialCacheDropsTheChangedAgent(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := t.Context()
			dsn := freshDatabase(t, engine)
			s, other, unheard := open(t, dsn), open(t, dsn), open(t, dsn)
			n := notify.NewLocal() // s and other hear each other; unheard is not heard
			s.SetNotifier(n)
			other.SetNotifier(n)
			a1, a2 := mustAgent(t, s, "a1", "linux"), mustAgent(t, s, "a2", "linux")
			disabled := func(hash string) bool {
				t.Helper()
				got, err := s.AgentByToken(ctx, hash)
				if err != nil {
					t.Fatal(err)
				}
				return got.Disabled
			}
			if disabled("hash-of-a1") || disabled("hash-of-a2") {
				t.Fatal("new agents disabled")
			}
			yes := true
			// a2 disabled where s cannot hear it: s's entry for a2 is stale.
			if err := unheard.UpdateAgents(ctx, map[int64]store.AgentChange{a2.ID: {Disabled: &yes}}); err != nil {
				t.Fatal(err)
			}
			if err := other.SetAgentHost(ctx, a1.ID, lathe.HostInfo{OS: "linux", Arch: "arm64"}); err != nil {
				t.Fatal(err)
			}
			if got, err := s.AgentByToken(ctx, "hash-of-a1"); err != nil || got.Host.Arch != "arm64" {
				t.Fatalf("a1 after another replica set its host: %+v, %v; want the new host at once", got, err)
			}
			if disabled("hash-of-a2") {
				t.Fatal("a change of a1 dropped a2's cached entry too")
			}
			g := &lathe.AgentGroup{Name: "gpu"}
			if err := other.CreateGroup(ctx, g); err != nil {
				t.Fatal(err)
			}
			if err := other.SetGroupMembers(ctx, g.ID, []int64{a1.ID}, true); err != nil {
				t.Fatal(err)
			}
			if !disabled("hash-of-a2") {
				t.Fatal("a change of a group left a2's entry cached")
			}
		})
	}
}
