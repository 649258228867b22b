package store_test

import (
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// Instances are recorded before they start, and never past the group's
// max, whoever counts (a restarted server counts the rows); failed ones
// do not count. A registered agent makes its instance ready and, once
// joined, a member of the group.
func TestInstancesNeverPassMaxAndReadTheirAgentsState(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		g := &lathe.AgentGroup{Name: "pool", Provider: &lathe.AgentProvider{Kind: "process", Max: 2}}
		if err := s.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		a, err := s.AddInstance(ctx, g.ID, "pool-a", 2)
		if err != nil || a.State != lathe.InstanceStarting {
			t.Fatalf("AddInstance = %+v, %v", a, err)
		}
		b, err := s.AddInstance(ctx, g.ID, "pool-b", 2)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.AddInstance(ctx, g.ID, "pool-c", 2)
		wantErr(t, "a third past max 2", err, lathe.ErrConflict)
		if err := s.SetInstance(ctx, b.ID, lathe.InstanceFailed, "", "boom"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddInstance(ctx, g.ID, "pool-c", 2); err != nil {
			t.Fatalf("a failed instance counted against max: %v", err)
		}
		wantErr(t, "deleting a group with instances", s.DeleteGroup(ctx, g.ID), lathe.ErrConflict)
		mustAgent(t, s, "pool-a")
		if err := s.JoinInstanceAgents(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.Instances(ctx, g.ID)
		if err != nil || len(got) != 3 || got[0].State != lathe.InstanceReady || got[0].IdleSince == nil || got[1].Error != "boom" {
			t.Fatalf("Instances = %+v, %v", got, err)
		}
		if grp, err := s.Group(ctx, "pool"); err != nil || grp.AgentsCount != 1 || grp.Provider == nil || grp.Provider.Max != 2 {
			t.Fatalf("Group = %+v, %v; want its instance's agent as a member, and its provider", grp, err)
		}
		if err := s.RemoveInstance(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Agent(ctx, "pool-a"); err == nil {
			t.Errorf("a removed instance's agent is still there")
		}
	})
}

// An agent that registers with the providers' token under the name of an
// instance being started is authorized, even where agents need an admin's
// authorization, and a member of the instance's group at once; under
// another name, or with an admin's token, it is an agent like any other.
// The instance remembers the provider that started it.
func TestProviderAgentsAuthorizedAndGroupedAtRegistration(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := &lathe.AgentProvider{Kind: "container", Image: "debian:12", Max: 3}
		g := &lathe.AgentGroup{Name: "boxes", Provider: p}
		if err := s.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		in, err := s.AddInstanceOf(ctx, g.ID, "boxes-1", 3, p)
		if err != nil {
			t.Fatal(err)
		}
		if in.StartedBy == nil || in.StartedBy.Image != "debian:12" {
			t.Errorf("instance's provider = %+v", in.StartedBy)
		}
		if _, err := s.AddInstanceOf(ctx, g.ID, "boxes-2", 3, p); err != nil {
			t.Fatal(err)
		}
		prov := &lathe.RegistrationToken{Name: "providers"}
		if err := s.CreateProviderRegistrationToken(ctx, prov, "hash-provider"); err != nil {
			t.Fatal(err)
		}
		admin := &lathe.RegistrationToken{Name: "admin's"}
		if err := s.CreateRegistrationToken(ctx, admin, "hash-admin"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			token, name string
			authorized  bool
		}{{"hash-provider", "boxes-1", true}, {"hash-provider", "stranger", false}, {"hash-admin", "boxes-2", false}} {
			a := &lathe.Agent{Name: c.name}
			if err := s.RegisterAgent(ctx, c.token, a, "cred-"+c.name, true); err != nil {
				t.Fatal(err)
			}
			got, err := s.Agent(ctx, c.name)
			if err != nil {
				t.Fatal(err)
			}
			inGroup := len(got.Groups) == 1 && got.Groups[0] == "boxes"
			if got.Authorized != c.authorized || inGroup != c.authorized {
				t.Errorf("%s with %s: authorized %v, groups %q; want authorized and in the group: %v", c.name, c.token, got.Authorized, got.Groups, c.authorized)
			}
		}
	})
}
