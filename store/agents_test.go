package store_test

import (
	"reflect"
	"slices"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// An agent is known by its name: putting it again keeps its ID and replaces
// its labels and credential.
func TestPutAgentIsAnUpsertByName(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		first := &lathe.Agent{Name: "builder", Labels: []string{"linux"}}
		if err := s.PutAgent(ctx, first, "old-hash"); err != nil {
			t.Fatal(err)
		}
		mustAgent(t, s, "another")
		again := &lathe.Agent{Name: "builder", Labels: []string{"linux", "gpu"}, Host: lathe.HostInfo{OS: "linux", CPUs: 8}}
		if err := s.PutAgent(ctx, again, "new-hash"); err != nil {
			t.Fatal(err)
		}
		if again.ID != first.ID {
			t.Errorf("put again: ID %d, want %d", again.ID, first.ID)
		}
		got, err := s.AgentByToken(ctx, "new-hash")
		if err != nil || got.ID != first.ID || !reflect.DeepEqual(got.Labels, []string{"linux", "gpu"}) || got.LastSeen != nil ||
			!got.Authorized || got.Disabled || got.Online || got.Host.CPUs != 8 {
			t.Errorf("AgentByToken(new) = %+v, %v", got, err)
		}
		_, err = s.AgentByToken(ctx, "old-hash")
		wantErr(t, "the replaced credential", err, lathe.ErrNotFound)

		if err := s.TouchAgent(ctx, first.ID); err != nil {
			t.Fatal(err)
		}
		all, err := s.Agents(ctx, store.AgentFilter{Limit: 10})
		if err != nil || len(all.Items) != 2 || all.Items[0].Name != "another" || all.Items[1].Name != "builder" ||
			all.Items[1].LastSeen == nil || !all.Items[1].Online {
			t.Errorf("Agents = %+v, %v; want another, builder (seen)", all.Items, err)
		}
	})
}

func names(as []*lathe.Agent) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}

func listNames(t *testing.T, s *store.Store, f store.AgentFilter) []string {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 50
	}
	p, err := s.Agents(t.Context(), f)
	if err != nil {
		t.Fatalf("Agents(%+v): %v", f, err)
	}
	return names(p.Items)
}

func ptr[T any](v T) *T { return &v }

// The list filters combine, and paging walks the whole list once, newest first.
func TestAgentsFiltersAndPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a := mustAgent(t, s, "a", "linux")
		b := mustAgent(t, s, "b", "linux", "gpu")
		c := mustAgent(t, s, "c", "mac")
		d := mustAgent(t, s, "d", "linux")
		if err := s.UpdateAgents(ctx, map[int64]store.AgentChange{
			b.ID: {Authorized: ptr(false)},
			c.ID: {Disabled: ptr(true)},
		}); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{a.ID, b.ID} {
			if err := s.TouchAgent(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		g := &lathe.AgentGroup{Name: "pool"}
		if err := s.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		if err := s.SetGroupMembers(ctx, g.ID, []int64{a.ID, d.ID}, true); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			f    store.AgentFilter
			want []string
		}{
			{store.AgentFilter{}, []string{"d", "c", "b", "a"}},
			{store.AgentFilter{Authorized: ptr(false)}, []string{"b"}},
			{store.AgentFilter{Authorized: ptr(true), Disabled: ptr(false)}, []string{"d", "a"}},
			{store.AgentFilter{Online: ptr(true)}, []string{"b", "a"}},
			{store.AgentFilter{Online: ptr(false)}, []string{"d", "c"}},
			{store.AgentFilter{Group: "pool"}, []string{"d", "a"}},
			{store.AgentFilter{Group: "nope"}, []string{}},
			{store.AgentFilter{Label: "linux"}, []string{"d", "b", "a"}},
			{store.AgentFilter{Label: "group:pool", Online: ptr(true)}, []string{"a"}},
			{store.AgentFilter{Label: "linux", Limit: 1}, []string{"d"}},
		} {
			if got := listNames(t, s, c.f); !slices.Equal(got, c.want) {
				t.Errorf("Agents(%+v) = %v, want %v", c.f, got, c.want)
			}
		}
		// Paging with a label filter: pages of one, each below the last cursor.
		var seen []string
		before := int64(0)
		for range 10 {
			p, err := s.Agents(ctx, store.AgentFilter{Label: "linux", Limit: 1, Before: before})
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, names(p.Items)...)
			if before = next(p); before == 0 {
				break
			}
		}
		if want := []string{"d", "b", "a"}; !slices.Equal(seen, want) {
			t.Errorf("paged label=linux = %v, want %v", seen, want)
		}
		got, err := s.Agent(ctx, "a")
		if err != nil || !slices.Equal(got.Groups, []string{"pool"}) || !slices.Equal(got.Labels, []string{"linux"}) {
			t.Errorf("Agent(a) = %+v, %v; want own labels [linux] and groups [pool]", got, err)
		}
	})
}

// Bulk updates apply all or nothing: a taken name rolls back the whole batch.
func TestUpdateAgentsIsAllOrNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a := mustAgent(t, s, "a", "linux")
		b := mustAgent(t, s, "b", "linux")
		err := s.UpdateAgents(ctx, map[int64]store.AgentChange{
			a.ID: {Disabled: ptr(true)},
			b.ID: {Name: ptr("a")},
		})
		wantErr(t, "renaming onto a taken name", err, lathe.ErrConflict)
		if got, _ := s.Agent(ctx, "a"); got == nil || got.Disabled {
			t.Errorf("agent a after a failed batch = %+v; want unchanged (enabled)", got)
		}
		err = s.UpdateAgents(ctx, map[int64]store.AgentChange{a.ID: {Labels: ptr([]string{"mac"})}, 999999: {Disabled: ptr(true)}})
		wantErr(t, "an unknown agent in the batch", err, lathe.ErrNotFound)
		if got, _ := s.Agent(ctx, "a"); got == nil || !slices.Equal(got.Labels, []string{"linux"}) {
			t.Errorf("agent a after a failed batch = %+v; want labels unchanged", got)
		}
	})
}

// Deleting an agent running a job is refused; one that ran jobs stays as a
// tombstone that keeps its attempts' history; its credential stops working.
func TestDeleteAgent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "app")
		busy := mustAgent(t, s, "busy")
		idle := mustAgent(t, s, "idle")
		mustRun(t, s, p.ID, "ci", []string{"test"}, job("unit", "test"))
		as := mustClaim(t, s, busy)
		wantErr(t, "delete an agent running a job", s.DeleteAgent(ctx, busy.ID), lathe.ErrConflict)
		if err := s.DeleteAgent(ctx, idle.ID); err != nil {
			t.Fatalf("delete idle agent: %v", err)
		}
		finish(t, s, busy, as, lathe.StatusSuccess)
		if err := s.DeleteAgent(ctx, busy.ID); err != nil {
			t.Fatalf("delete agent after its job: %v", err)
		}
		_, err := s.AgentByToken(ctx, "hash-of-busy")
		wantErr(t, "the deleted agent's credential", err, lathe.ErrNotFound)
		_, err = s.Agent(ctx, "busy")
		wantErr(t, "get the deleted agent", err, lathe.ErrNotFound)
		if got := listNames(t, s, store.AgentFilter{}); len(got) != 0 {
			t.Errorf("agents after deleting both = %v, want none", got)
		}
		at, err := s.Attempt(ctx, as.AttemptID)
		if err != nil || at.AgentID != busy.ID {
			t.Errorf("attempt of the deleted agent = %+v, %v; want it kept", at, err)
		}
		hist, err := s.AgentAttempts(ctx, busy.ID, 0, 10)
		if err != nil || len(hist.Items) != 1 {
			t.Errorf("AgentAttempts(deleted) = %+v, %v", hist, err)
		}
		wantErr(t, "delete twice", s.DeleteAgent(ctx, idle.ID), lathe.ErrNotFound)
		wantErr(t, "delete a tombstone", s.DeleteAgent(ctx, busy.ID), lathe.ErrNotFound)
		// The name is free again.
		mustAgent(t, s, "busy")
	})
}

// The attempts an agent ran are listed newest first, a page at a time.
func TestAgentAttemptsPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "app")
		a := mustAgent(t, s, "a")
		other := mustAgent(t, s, "other")
		var ids []int64
		for range 3 {
			mustRun(t, s, p.ID, "ci", []string{"test"}, job("unit", "test"))
			as := mustClaim(t, s, a)
			finish(t, s, a, as, lathe.StatusSuccess)
			ids = append([]int64{as.AttemptID}, ids...)
		}
		mustRun(t, s, p.ID, "ci", []string{"test"}, job("unit", "test"))
		finish(t, s, other, mustClaim(t, s, other), lathe.StatusSuccess)
		var got []int64
		before := int64(0)
		for range 5 {
			pg, err := s.AgentAttempts(ctx, a.ID, before, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, at := range pg.Items {
				got = append(got, at.ID)
			}
			if before = next(pg); before == 0 {
				break
			}
		}
		if !slices.Equal(got, ids) {
			t.Errorf("attempts of a = %v, want %v", got, ids)
		}
	})
}

// The store itself refuses work to a disabled, unauthorized or deleted
// agent, whatever its caller checked before: a disable that commits before
// a claim always wins over it.
func TestClaimRefusesAgentsThatMayNotWork(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "app")
		a := mustAgent(t, s, "a")
		mustRun(t, s, p.ID, "ci", []string{"test"}, job("unit", "test"))
		for _, c := range []store.AgentChange{{Disabled: ptr(true)}, {Disabled: ptr(false), Authorized: ptr(false)}} {
			if err := s.UpdateAgents(ctx, map[int64]store.AgentChange{a.ID: c}); err != nil {
				t.Fatal(err)
			}
			if as, err := s.Claim(ctx, a.ID, a.Labels); err != nil || as != nil {
				t.Errorf("claim after %+v = %+v, %v; want nothing", c, as, err)
			}
		}
		if err := s.UpdateAgents(ctx, map[int64]store.AgentChange{a.ID: {Authorized: ptr(true)}}); err != nil {
			t.Fatal(err)
		}
		if as := mustClaim(t, s, a); as == nil {
			t.Error("an authorized, enabled agent got no job")
		}
	})
}
