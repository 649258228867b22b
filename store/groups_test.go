package store_test

import (
	"slices"
	"strconv"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

func TestGroupsCRUD(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		g := &lathe.AgentGroup{Name: "gpu-pool", Description: "the big ones"}
		if err := s.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "a taken name", s.CreateGroup(ctx, &lathe.AgentGroup{Name: "gpu-pool"}), lathe.ErrConflict)
		other := &lathe.AgentGroup{Name: "other"}
		if err := s.CreateGroup(ctx, other); err != nil {
			t.Fatal(err)
		}
		a := mustAgent(t, s, "a")
		b := mustAgent(t, s, "b")
		if err := s.SetGroupMembers(ctx, g.ID, []int64{a.ID, b.ID, a.ID}, true); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "add an unknown agent", s.SetGroupMembers(ctx, g.ID, []int64{424242}, true), lathe.ErrNotFound)
		got, err := s.Group(ctx, "gpu-pool")
		if err != nil || got.AgentsCount != 2 || got.Description != "the big ones" {
			t.Errorf("Group = %+v, %v; want 2 agents", got, err)
		}
		if byID, err := s.Group(ctx, itoa(g.ID)); err != nil || byID.Name != "gpu-pool" {
			t.Errorf("Group by ID = %+v, %v", byID, err)
		}
		if err := s.SetGroupMembers(ctx, g.ID, []int64{b.ID}, false); err != nil {
			t.Fatal(err)
		}
		if got := listNames(t, s, store.AgentFilter{Group: "gpu-pool"}); !slices.Equal(got, []string{"a"}) {
			t.Errorf("members = %v, want [a]", got)
		}
		g.Name = "other"
		wantErr(t, "rename onto a taken name", s.UpdateGroup(ctx, g), lathe.ErrConflict)
		g.Name = "gpus"
		if err := s.UpdateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		ag, _ := s.AgentByToken(ctx, "hash-of-a")
		if ag == nil || !slices.Equal(ag.Labels, []string{"group:gpus"}) {
			t.Errorf("labels after rename = %+v; want [group:gpus]", ag)
		}
		page, err := s.Groups(ctx, 0, 1)
		if err != nil || len(page.Items) != 1 || page.Items[0].Name != "other" || page.Next == nil {
			t.Errorf("Groups page 1 = %+v, %v", page, err)
		}
		if err := s.DeleteGroup(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Group(ctx, "gpus")
		wantErr(t, "get a deleted group", err, lathe.ErrNotFound)
		if ag, _ := s.Agent(ctx, "a"); ag == nil || len(ag.Groups) != 0 {
			t.Errorf("agent after its group was deleted = %+v; want no groups", ag)
		}
	})
}

// A member of group G carries the label group:G, so a job that runs on
// [group:G] goes to members only.
func TestGroupRoutesJobs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "app")
		g := &lathe.AgentGroup{Name: "gpu-pool"}
		if err := s.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		mustAgent(t, s, "outsider", "linux")
		member := mustAgent(t, s, "member", "linux")
		if err := s.SetGroupMembers(ctx, g.ID, []int64{member.ID}, true); err != nil {
			t.Fatal(err)
		}
		j := job("train", "test")
		j.RunsOn = []string{"linux", "group:gpu-pool"}
		mustRun(t, s, p.ID, "ci", []string{"test"}, j)
		out, _ := s.AgentByToken(ctx, "hash-of-outsider")
		if as, err := s.Claim(ctx, out.ID, out.Labels); err != nil || as != nil {
			t.Errorf("outsider claimed %+v, %v; want nothing", as, err)
		}
		in, _ := s.AgentByToken(ctx, "hash-of-member")
		if as := mustClaim(t, s, in); as.Job != "train" {
			t.Errorf("member claimed %q", as.Job)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
