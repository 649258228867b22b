package server_test

import (
	"context"
	"slices"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// The whole fleet and every team with its members are for admins; a user
// sees the agents that ran jobs of projects it may read, and the teams it
// is in or that hold a role on such a project.
func TestAgentsAndTeamsAreVisibleAsFarAsProjectsGo(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l := lathetest.Start(t, o)
		reg := l.RegistrationToken(t)
		for _, name := range []string{"mine", "theirs"} {
			repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  build:\n    runs-on: [" + name + "]\n    steps: [echo built]\n"})
			l.Project(t, name, repo)
			l.StartAgent(t, reg, "agent-"+name, "", name)
			if r := l.Wait(t, l.Trigger(t, name, "", "").ID, 60*time.Second); r.Status != lathe.StatusSuccess {
				t.Fatalf("run of %s: %s", name, r.Status)
			}
		}
		l.StartAgent(t, reg, "agent-idle", "", "idle")
		l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "ann", "password": "ann-password"}, nil)
		l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "zed", "password": "zed-password"}, nil)
		for team, member := range map[string]string{"crew": "zed", "anns": "ann", "hidden": "zed"} {
			l.Do(t, "POST", "/api/v1/teams", map[string]any{"name": team}, nil)
			l.Do(t, "POST", "/api/v1/teams/"+team+"/members", map[string]any{"user": member}, nil)
		}
		l.Do(t, "PUT", "/api/v1/projects/mine/members/users/ann", map[string]any{"role": "read"}, nil)
		l.Do(t, "PUT", "/api/v1/projects/mine/members/teams/crew", map[string]any{"role": "write"}, nil)
		l.Do(t, "PUT", "/api/v1/projects/theirs/members/teams/hidden", map[string]any{"role": "write"}, nil)
		ann := l.ClientAs(t, login(t, l, "ann", "ann-password"))

		agents := func(c *client.Client) []string {
			var page lathe.Page[*lathe.Agent]
			if err := c.Do(context.Background(), "GET", "/api/v1/agents", nil, &page); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, a := range page.Items {
				names = append(names, a.Name)
			}
			slices.Sort(names)
			return names
		}
		teams := func(c *client.Client) []string {
			var list struct {
				Items []string `json:"items"`
			}
			if err := c.Do(context.Background(), "GET", "/api/v1/teams", nil, &list); err != nil {
				t.Fatal(err)
			}
			return list.Items
		}
		if got := agents(l.Client); !slices.Equal(got, []string{"agent-idle", "agent-mine", "agent-theirs"}) {
			t.Errorf("agents an admin sees: %v", got)
		}
		if got := agents(ann); !slices.Equal(got, []string{"agent-mine"}) {
			t.Errorf("agents ann sees: %v, want only the one that ran her project's job", got)
		}
		if got := teams(l.Client); !slices.Equal(got, []string{"anns", "crew", "hidden"}) {
			t.Errorf("teams an admin sees: %v", got)
		}
		if got := teams(ann); !slices.Equal(got, []string{"anns", "crew"}) {
			t.Errorf("teams ann sees: %v, want her own and the one on her project", got)
		}
		for path, want := range map[string]int{
			"/api/v1/agents/agent-mine": 200, "/api/v1/agents/agent-theirs": 404, "/api/v1/agents/agent-idle": 404,
			"/api/v1/teams/crew": 200, "/api/v1/teams/anns": 200, "/api/v1/teams/hidden": 404,
		} {
			if got := statusOf(t, l, ann.Token, "GET", path, nil); got != want {
				t.Errorf("GET %s as ann: %d, want %d", path, got, want)
			}
		}
		var crew lathe.Team
		if err := ann.Do(context.Background(), "GET", "/api/v1/teams/crew", nil, &crew); err != nil || !slices.Equal(crew.Members, []string{"zed"}) {
			t.Errorf("crew as ann sees it: %+v %v", crew, err)
		}
	})
}
