package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// Deployments and environments list across the projects the caller may
// read, newest first and paged; an environment's history pages too.
func TestDeploymentsAndEnvironmentsAcrossProjects(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, releaseRepo)
		commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
		l.Project(t, "app", repo)
		l.Do(t, "POST", "/api/v1/projects", map[string]any{"name": "pub", "url": repo, "visibility": "public"}, nil)
		report := func(project, env, version string) {
			base := "/api/v1/projects/" + project
			l.Do(t, "PATCH", base+"/environments/"+env+"/deployments", map[string]any{"release_candidate_version": version, "status": "success"}, nil)
		}
		for _, p := range []string{"app", "pub"} {
			l.Do(t, "POST", "/api/v1/projects/"+p+"/releases/1.0.0-rc1", map[string]any{"commit": commit}, nil)
			l.Do(t, "POST", "/api/v1/projects/"+p+"/environments", map[string]any{"name": "staging", "position": 1}, nil)
		}
		l.Do(t, "POST", "/api/v1/projects/app/environments", map[string]any{"name": "production", "position": 2}, nil)
		report("app", "staging", "1.0.0-rc1")
		report("pub", "staging", "1.0.0-rc1")
		report("app", "production", "1.0.0-rc1")

		where := func(ds []*lathe.Deployment) string {
			var out []string
			for _, d := range ds {
				out = append(out, d.Project+"/"+d.Environment)
			}
			return strings.Join(out, " ")
		}
		var all lathe.Page[*lathe.Deployment]
		l.Do(t, http.MethodGet, "/api/v1/deployments", nil, &all)
		if got := where(all.Items); got != "app/production pub/staging app/staging" || all.Next != nil {
			t.Errorf("all deployments: %q next %v", got, all.Next)
		}
		var p1, p2 lathe.Page[*lathe.Deployment]
		l.Do(t, http.MethodGet, "/api/v1/deployments?limit=2", nil, &p1)
		if p1.Next == nil {
			t.Fatalf("first page of 2 has no next: %+v", p1)
		}
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/deployments?limit=2&before=%d", *p1.Next), nil, &p2)
		if where(p1.Items)+" | "+where(p2.Items) != "app/production pub/staging | app/staging" || p2.Next != nil {
			t.Errorf("pages: %q | %q", where(p1.Items), where(p2.Items))
		}
		var appOnly lathe.Page[*lathe.Deployment]
		l.Do(t, http.MethodGet, "/api/v1/deployments?project=app", nil, &appOnly)
		if got := where(appOnly.Items); got != "app/production app/staging" {
			t.Errorf("app's deployments: %q", got)
		}
		// An environment's history pages as well.
		l.Do(t, "POST", "/api/v1/projects/app/releases/1.0.0-rc2", map[string]any{"commit": commit}, nil)
		report("app", "staging", "1.0.0-rc2")
		var h1, h2 lathe.Page[*lathe.Deployment]
		l.Do(t, http.MethodGet, "/api/v1/projects/app/environments/staging/deployments?limit=1", nil, &h1)
		if len(h1.Items) != 1 || h1.Next == nil {
			t.Fatalf("staging's first page: %+v", h1)
		}
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/projects/app/environments/staging/deployments?limit=1&before=%d", *h1.Next), nil, &h2)
		if len(h2.Items) != 1 || h2.Items[0].ID >= h1.Items[0].ID {
			t.Errorf("staging's second page: %+v after %+v", h2.Items, h1.Items)
		}
		// So does a release's: its candidates' deployments, newest first.
		var r1, r2 lathe.Page[*lathe.Deployment]
		l.Do(t, http.MethodGet, "/api/v1/projects/app/releases/1.0.0/deployments?limit=2", nil, &r1)
		if r1.Next == nil || len(r1.Items) != 2 || r1.Items[0].Version != "1.0.0-rc2" {
			t.Fatalf("release 1.0.0's first page: %+v", r1)
		}
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/projects/app/releases/1.0.0/deployments?limit=2&before=%d", *r1.Next), nil, &r2)
		if got := where(r2.Items); got != "app/staging" || r2.Next != nil || r2.Items[0].Version != "1.0.0-rc1" {
			t.Errorf("release 1.0.0's second page: %q next %v", got, r2.Next)
		}

		// Environments page by project, newest first, each project's whole
		// and in promotion order.
		var envs lathe.Page[*lathe.Environment]
		names := func(es []*lathe.Environment) string {
			var out []string
			for _, e := range es {
				out = append(out, e.Project+"/"+e.Name)
			}
			return strings.Join(out, " ")
		}
		l.Do(t, http.MethodGet, "/api/v1/environments", nil, &envs)
		if got := names(envs.Items); got != "pub/staging app/staging app/production" || envs.Next != nil {
			t.Errorf("environments: %q next %v", got, envs.Next)
		}
		var e1, e2 lathe.Page[*lathe.Environment]
		l.Do(t, http.MethodGet, "/api/v1/environments?limit=1", nil, &e1)
		if e1.Next == nil || names(e1.Items) != "pub/staging" {
			t.Fatalf("environments, first page of one project: %q next %v", names(e1.Items), e1.Next)
		}
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/environments?limit=1&before=%d", *e1.Next), nil, &e2)
		if names(e2.Items) != "app/staging app/production" || e2.Next != nil {
			t.Errorf("environments, second page: %q next %v", names(e2.Items), e2.Next)
		}

		// Anonymous callers see the public project's only.
		anon := l.ClientAs(t, "")
		var pub lathe.Page[*lathe.Deployment]
		if err := anon.Do(t.Context(), http.MethodGet, "/api/v1/deployments", nil, &pub); err != nil || where(pub.Items) != "pub/staging" {
			t.Errorf("anonymous deployments: %q %v", where(pub.Items), err)
		}
		envs.Items = nil
		if err := anon.Do(t.Context(), http.MethodGet, "/api/v1/environments", nil, &envs); err != nil || len(envs.Items) != 1 || envs.Items[0].Project != "pub" {
			t.Errorf("anonymous environments: %+v %v", envs.Items, err)
		}
	})
}
