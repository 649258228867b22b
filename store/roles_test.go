package store_test

import (
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// A user's role on a project is the strongest of its direct grant and its
// teams' grants; lists narrow to public projects and those with a role.
func TestProjectRolesDirectAndThroughTeams(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		shop := mustProject(t, s, "shop")
		other := mustProject(t, s, "other")
		pub := &lathe.Project{Name: "pub", URL: "/x", DefaultBranch: "main", Visibility: lathe.VisibilityPublic}
		if err := s.CreateProject(ctx, pub); err != nil {
			t.Fatal(err)
		}
		alice := &lathe.User{Name: "alice"}
		if err := s.CreateUser(ctx, alice, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTeam(ctx, &lathe.Team{Name: "crew"}); err != nil {
			t.Fatal(err)
		}
		role := func(p *lathe.Project) lathe.Role {
			r, err := s.ProjectRole(ctx, alice.ID, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		if r := role(shop); r != lathe.RoleNone {
			t.Fatalf("role before any grant: %q", r)
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s.Grant(ctx, shop.ID, lathe.Member{User: "alice", Role: lathe.RoleRead}))
		must(s.SetTeamMember(ctx, "crew", "alice", true))
		must(s.Grant(ctx, shop.ID, lathe.Member{Team: "crew", Role: lathe.RoleWrite}))
		if r := role(shop); r != lathe.RoleWrite {
			t.Errorf("read direct + write through team = %q, want write", r)
		}
		if r := role(other); r != lathe.RoleNone {
			t.Errorf("role on an unrelated project = %q", r)
		}
		must(s.SetTeamMember(ctx, "crew", "alice", false))
		if r := role(shop); r != lathe.RoleRead {
			t.Errorf("after leaving the team = %q, want read", r)
		}
		page, err := s.ProjectsFor(ctx, &store.Viewer{UserID: alice.ID}, 0, 50)
		must(err)
		var names []string
		for _, p := range page.Items {
			names = append(names, p.Name)
		}
		if len(names) != 2 || names[0] != "pub" || names[1] != "shop" {
			t.Errorf("alice sees %v, want [pub shop]", names)
		}
		page, err = s.ProjectsFor(ctx, &store.Viewer{}, 0, 50)
		must(err)
		if len(page.Items) != 1 || page.Items[0].Name != "pub" {
			t.Errorf("anonymous sees %v, want only pub", page.Items)
		}
	})
}
