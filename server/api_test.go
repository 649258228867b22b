package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// Errors are problem+json that say what is wrong; callers without a valid
// token are refused before anything else happens.
func TestAPIErrors(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	ctx := context.Background()
	tests := []struct {
		name, method, path, token string
		body                      any
		status                    int
		detail                    string
	}{
		{"no token", "GET", "/api/v1/agents", "", nil, 401, "missing bearer token"},
		{"wrong token", "GET", "/api/v1/projects", "lathe_nope", nil, 401, "unknown or revoked token"},
		{"no token, even for a bad body", "POST", "/api/v1/projects", "", "not json", 401, "missing bearer token"},
		{"user token on the agent protocol", "POST", "/api/v1/agent/claim", l.AdminToken, nil, 403, "needs an agent credential"},
		{"unknown token on the agent protocol", "POST", "/api/v1/agent/claim", "lathe_agent_nope", nil, 401, "unknown agent credential"},
		{"unknown route", "GET", "/api/v1/nope", l.AdminToken, nil, 404, "no route"},
		{"missing project", "GET", "/api/v1/projects/ghost", l.AdminToken, nil, 404, "project ghost"},
		{"bad name", "POST", "/api/v1/projects", l.AdminToken, map[string]string{"name": "a b", "url": "/x"}, 400, "name"},
		{"numeric name", "POST", "/api/v1/projects", l.AdminToken, map[string]string{"name": "2024", "url": "/x"}, 400, "digits"},
		{"missing url", "POST", "/api/v1/projects", l.AdminToken, map[string]string{"name": "ok"}, 400, "url"},
		{"unknown field", "POST", "/api/v1/projects", l.AdminToken, map[string]string{"name": "ok", "url": "/x", "colour": "red"}, 400, "colour"},
		{"option-like url", "POST", "/api/v1/projects", l.AdminToken, map[string]string{"name": "ok", "url": "--upload-pack=evil"}, 400, "url"},
		{"bad run id", "GET", "/api/v1/runs/abc", l.AdminToken, nil, 400, "run"},
		{"missing run", "GET", "/api/v1/runs/999", l.AdminToken, nil, 404, "run 999"},
		{"bad status filter", "GET", "/api/v1/runs?status=great", l.AdminToken, nil, 400, "status"},
		{"bad event filter", "GET", "/api/v1/runs?event=pushh", l.AdminToken, nil, 400, `event: "pushh" is not an event`},
		{"limit out of range", "GET", "/api/v1/runs?limit=1000", l.AdminToken, nil, 400, "limit"},
		{"wrong method", "PUT", "/api/v1/runs/1", l.AdminToken, nil, 405, "PUT is not allowed"},
		{"lower-case bearer works, then 404", "GET", "/api/v1/runs/77", "", nil, 404, "run 77"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := l.ClientAs(t, tt.token)
			var h http.Header
			if tt.token == "" && tt.status == 404 {
				h = http.Header{"Authorization": {"bearer " + l.AdminToken}}
			}
			resp, err := c.Request(ctx, tt.method, tt.path, tt.body, h)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("%s %s succeeded, want %d", tt.method, tt.path, tt.status)
			}
			ce := err.(*client.Error)
			if ce.Status != tt.status || !strings.Contains(ce.Detail, tt.detail) {
				t.Errorf("got %d %q, want %d containing %q", ce.Status, ce.Detail, tt.status, tt.detail)
			}
		})
	}
	// The content type is problem+json.
	req, _ := http.NewRequest("GET", l.URL+"/api/v1/agents", nil)
	resp, err := lathetest.HTTPClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type %q", ct)
	}
	for _, probe := range []string{"/healthz", "/readyz"} {
		if err := l.ClientAs(t, "").Do(ctx, "GET", probe, nil, nil); err != nil {
			t.Errorf("%s: %v", probe, err)
		}
	}
}

// Projects can be read, updated and deleted; lists page newest first with a
// cursor, and runs filter by project, pipeline, branch and status.
func TestProjectsAndRunLists(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, map[string]string{
		".lathe/ok.yml":   "jobs:\n  j:\n    steps: [echo ok]\n",
		".lathe/fail.yml": "jobs:\n  j:\n    steps: [exit 1]\n",
	})
	lathetest.Git(t, repo, "branch", "dev")
	for i := 0; i < 3; i++ {
		l.Project(t, fmt.Sprintf("p%d", i), repo)
	}
	var page lathe.Page[*lathe.Project]
	l.Do(t, "GET", "/api/v1/projects?limit=2", nil, &page)
	if len(page.Items) != 2 || page.Items[0].Name != "p2" || page.Next == nil {
		t.Fatalf("first page: %+v", page)
	}
	l.Do(t, "GET", fmt.Sprintf("/api/v1/projects?limit=2&before=%d", *page.Next), nil, &page)
	if len(page.Items) != 1 || page.Items[0].Name != "p0" || page.Next != nil {
		t.Fatalf("last page: %+v", page)
	}
	var p lathe.Project
	l.Do(t, "PATCH", "/api/v1/projects/p0", map[string]string{"default_branch": "dev"}, &p)
	if p.DefaultBranch != "dev" || p.URL != repo {
		t.Errorf("after update: %+v", p)
	}

	var runs []*lathe.Run
	for _, tr := range []struct{ project, ref, pipeline string }{
		{"p0", "", "ok"}, {"p0", "main", "fail"}, {"p1", "main", "ok"}, {"p0", "dev", "ok"},
	} {
		runs = append(runs, l.Wait(t, l.Trigger(t, tr.project, tr.ref, tr.pipeline).ID, 30*time.Second))
	}
	if runs[0].Branch != "dev" {
		t.Errorf("a run without ref builds the default branch; got %q", runs[0].Branch)
	}
	count := func(query string) int {
		var page lathe.Page[*lathe.Run]
		l.Do(t, "GET", "/api/v1/runs?"+query, nil, &page)
		return len(page.Items)
	}
	for query, want := range map[string]int{
		"": 4, "project=p0": 3, "project=p0&pipeline=ok": 2, "branch=dev": 2, "status=failed": 1,
		"project=p0&branch=main&status=failed": 1, "limit=1": 1, "ref=main": 2, "ref=refs/heads/dev": 2,
		"commit=" + runs[0].Commit: 4, fmt.Sprintf("before=%d", runs[2].ID): 2,
	} {
		if got := count(query); got != want {
			t.Errorf("runs?%s: %d runs, want %d", query, got, want)
		}
	}
	var projRuns lathe.Page[*lathe.Run]
	l.Do(t, "GET", "/api/v1/projects/p1/runs", nil, &projRuns)
	if len(projRuns.Items) != 1 || projRuns.Items[0].Project != "p1" {
		t.Errorf("runs of p1: %+v", projRuns.Items)
	}
	var stages struct{ Items []*lathe.Stage }
	l.Do(t, "GET", fmt.Sprintf("/api/v1/runs/%d/stages", runs[1].ID), nil, &stages)
	if len(stages.Items) != 1 || stages.Items[0].Status != lathe.StatusFailed || stages.Items[0].DurationMS == nil {
		t.Fatalf("stages: %+v", stages.Items)
	}
	var st lathe.Stage
	l.Do(t, "GET", fmt.Sprintf("/api/v1/stages/%d", stages.Items[0].ID), nil, &st)
	if st.ID != stages.Items[0].ID || st.RunID != runs[1].ID {
		t.Errorf("stage: %+v", st)
	}
	var pls struct {
		Items []struct {
			Name string
			Jobs []json.RawMessage
		}
	}
	l.Do(t, "GET", "/api/v1/projects/p0/pipelines?ref=main", nil, &pls)
	if len(pls.Items) != 2 {
		t.Errorf("pipelines: %+v", pls)
	}
	err := l.Client.Do(context.Background(), "DELETE", "/api/v1/projects/p1", nil, nil)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := l.Client.Do(context.Background(), "GET", "/api/v1/projects/p1", nil, nil); client.StatusOf(err) != 404 {
		t.Errorf("deleted project still there: %v", err)
	}
}
