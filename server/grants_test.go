package server_test

import (
	"net/http"
	"reflect"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// An admin sees which projects a user holds roles on, directly and through
// each team, and which a team holds; anyone can list the roles there are.
func TestUserAndTeamGrants(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n"})
	for _, name := range []string{"shop", "docs", "infra"} {
		l.Project(t, name, repo)
	}
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "dee", "password": "pw-dee-12345"}, nil)
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "bot", "service": true}, nil)
	l.Do(t, http.MethodPost, "/api/v1/teams", map[string]string{"name": "ops"}, nil)
	l.Do(t, http.MethodPost, "/api/v1/teams/ops/members", map[string]string{"user": "dee"}, nil)
	l.Do(t, http.MethodPut, "/api/v1/projects/shop/members/users/dee", map[string]string{"role": "read"}, nil)
	l.Do(t, http.MethodPut, "/api/v1/projects/shop/members/teams/ops", map[string]string{"role": "write"}, nil)
	l.Do(t, http.MethodPut, "/api/v1/projects/infra/members/teams/ops", map[string]string{"role": "owner"}, nil)
	l.Do(t, http.MethodPut, "/api/v1/projects/docs/members/users/bot", map[string]string{"role": "write"}, nil)

	var list struct {
		Items []lathe.ProjectGrant `json:"items"`
	}
	l.Do(t, http.MethodGet, "/api/v1/users/dee/projects", nil, &list)
	want := []lathe.ProjectGrant{{Project: "infra", Team: "ops", Role: lathe.RoleOwner},
		{Project: "shop", Role: lathe.RoleRead}, {Project: "shop", Team: "ops", Role: lathe.RoleWrite}}
	if !reflect.DeepEqual(list.Items, want) {
		t.Errorf("dee's grants:\n got %+v\nwant %+v", list.Items, want)
	}
	list.Items = nil // decoding into old items would keep their teams
	l.Do(t, http.MethodGet, "/api/v1/users/bot/projects", nil, &list)
	if want := []lathe.ProjectGrant{{Project: "docs", Role: lathe.RoleWrite}}; !reflect.DeepEqual(list.Items, want) {
		t.Errorf("the service account's grants: %+v, want %+v", list.Items, want)
	}
	l.Do(t, http.MethodGet, "/api/v1/teams/ops/projects", nil, &list)
	want = []lathe.ProjectGrant{{Project: "infra", Team: "ops", Role: lathe.RoleOwner}, {Project: "shop", Team: "ops", Role: lathe.RoleWrite}}
	if !reflect.DeepEqual(list.Items, want) {
		t.Errorf("ops's grants:\n got %+v\nwant %+v", list.Items, want)
	}
	// Revoking shows at once.
	l.Do(t, http.MethodDelete, "/api/v1/projects/infra/members/teams/ops", nil, nil)
	l.Do(t, http.MethodGet, "/api/v1/teams/ops/projects", nil, &list)
	if len(list.Items) != 1 || list.Items[0].Project != "shop" {
		t.Errorf("ops's grants after revoking infra: %+v", list.Items)
	}

	for _, path := range []string{"/api/v1/users/nobody/projects", "/api/v1/teams/nobody/projects"} {
		if err := l.Client.Do(t.Context(), http.MethodGet, path, nil, nil); client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("%s: %v, want 404", path, err)
		}
	}
	// Another user may not look (admins only).
	dee := l.ClientAs(t, login(t, l, "dee", "pw-dee-12345"))
	if err := dee.Do(t.Context(), http.MethodGet, "/api/v1/teams/ops/projects", nil, nil); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("dee reads a team's grants: %v, want 403", err)
	}

	var roles struct {
		Items []lathe.RoleInfo `json:"items"`
	}
	if err := l.ClientAs(t, "").Do(t.Context(), http.MethodGet, "/api/v1/roles", nil, &roles); err != nil {
		t.Fatal(err)
	}
	if len(roles.Items) != 3 || roles.Items[0].Name != lathe.RoleRead || roles.Items[2].Name != lathe.RoleOwner ||
		roles.Items[2].Rank != lathe.RoleOwner.Rank() || roles.Items[1].Description == "" {
		t.Errorf("roles: %+v", roles.Items)
	}
}
