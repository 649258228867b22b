package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// The projects list gives the caller's role on each project: the role
// held directly or through a team, read on a public project, owner for an
// admin. One project, fetched alone, shows its tracked branches.
func TestProjectsListTheCallersRoleAndShowBranches(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps: [echo hi]\n"})
		for _, name := range []string{"mine", "open", "crews", "hidden"} {
			l.Project(t, name, repo)
		}
		l.Do(t, http.MethodPatch, "/api/v1/projects/open", map[string]any{"visibility": "public"}, nil)
		l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "uma", "password": "s3cret-pass"}, nil)
		l.Do(t, http.MethodPost, "/api/v1/teams", map[string]any{"name": "crew"}, nil)
		l.Do(t, http.MethodPost, "/api/v1/teams/crew/members", map[string]any{"user": "uma"}, nil)
		l.Do(t, http.MethodPut, "/api/v1/projects/mine/members/users/uma", map[string]any{"role": "write"}, nil)
		l.Do(t, http.MethodPut, "/api/v1/projects/crews/members/users/uma", map[string]any{"role": "read"}, nil)
		l.Do(t, http.MethodPut, "/api/v1/projects/crews/members/teams/crew", map[string]any{"role": "owner"}, nil)
		uma := login(t, l, "uma", "s3cret-pass")

		roles := func(token string) map[string]lathe.Role {
			t.Helper()
			var page struct {
				Items []struct {
					Name string     `json:"name"`
					Role lathe.Role `json:"role"`
				} `json:"items"`
			}
			if err := l.ClientAs(t, token).Do(context.Background(), http.MethodGet, "/api/v1/projects?limit=2", nil, &page); err != nil {
				t.Fatal(err)
			}
			got := map[string]lathe.Role{}
			for _, p := range page.Items {
				got[p.Name] = p.Role
			}
			// The second page too: roles are worked out per page.
			var rest struct {
				Items []struct {
					Name string     `json:"name"`
					Role lathe.Role `json:"role"`
				} `json:"items"`
			}
			if err := l.ClientAs(t, token).Do(context.Background(), http.MethodGet, "/api/v1/projects?limit=50&before=3", nil, &rest); err != nil {
				t.Fatal(err)
			}
			for _, p := range rest.Items {
				got[p.Name] = p.Role
			}
			return got
		}
		for who, tc := range map[string]struct {
			token string
			want  map[string]lathe.Role
		}{
			"uma":    {uma, map[string]lathe.Role{"mine": "write", "open": "read", "crews": "owner"}},
			"nobody": {"", map[string]lathe.Role{"open": "read"}},
			"admin":  {l.AdminToken, map[string]lathe.Role{"mine": "owner", "open": "owner", "crews": "owner", "hidden": "owner"}},
		} {
			if got := roles(tc.token); !equalRoles(got, tc.want) {
				t.Errorf("%s sees %v, want %v", who, got, tc.want)
			}
		}

		l.Wait(t, l.Trigger(t, "mine", "", "").ID, time.Minute)
		var p struct {
			Name     string     `json:"name"`
			Role     lathe.Role `json:"role"`
			Branches []struct {
				Name       string `json:"name"`
				HeadCommit string `json:"head_commit"`
			} `json:"branches"`
		}
		if err := l.ClientAs(t, uma).Do(context.Background(), http.MethodGet, "/api/v1/projects/mine", nil, &p); err != nil {
			t.Fatal(err)
		}
		if p.Role != lathe.RoleWrite || len(p.Branches) != 1 || p.Branches[0].Name != "main" || p.Branches[0].HeadCommit == "" {
			t.Errorf("project mine as uma: %+v", p)
		}
	})
}

func equalRoles(a, b map[string]lathe.Role) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
