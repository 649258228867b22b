package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/api"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// routeNeeds is the access rule of every route, written down as the
// specification the matrix test holds the server to. A route in the OpenAPI
// document with no entry here fails the test.
//
//	public        anyone, no credential read
//	self          checks its own credential (a registration token)
//	anyone        anyone; lists narrow to readable projects
//	authenticated any user
//	read/write/owner  that role on the project the path names (or owns the run, stage, job)
//	admin         global admin
//	agent         an agent credential
var routeNeeds = map[string]string{
	"GET /healthz":                "public",
	"GET /readyz":                 "public",
	"GET /api/v1/openapi.json":    "public",
	"GET /api/v1/info":            "public",
	"GET /api/v1/pipeline-schema": "public",
	"POST /api/v1/sessions":       "public",
	"POST /api/v1/agent/register": "self",
	"POST /api/v1/hooks/{token}":  "self",
	// A forge's hook checks its own signature.
	"POST /api/v1/hooks/{forge_kind}/{project}": "self",

	"GET /api/v1/projects":     "anyone",
	"GET /api/v1/runs":         "anyone",
	"GET /api/v1/pipelines":    "anyone",
	"GET /api/v1/roles":        "anyone",
	"GET /api/v1/jobs":         "anyone",
	"GET /api/v1/deployments":  "anyone",
	"GET /api/v1/environments": "anyone",
	"GET /api/v1/builds":       "anyone",

	"GET /api/v1/sessions/current":            "authenticated",
	"DELETE /api/v1/sessions/current":         "authenticated",
	"GET /api/v1/users/me":                    "authenticated",
	"PUT /api/v1/users/me/password":           "authenticated",
	"GET /api/v1/tokens":                      "authenticated",
	"POST /api/v1/tokens":                     "authenticated",
	"DELETE /api/v1/tokens/{token}":           "authenticated",
	"GET /api/v1/teams":                       "authenticated",
	"GET /api/v1/ssh-key.pub":                 "authenticated",
	"GET /api/v1/teams/{team}":                "authenticated",
	"GET /api/v1/agents":                      "authenticated",
	"GET /api/v1/tools":                       "authenticated",
	"GET /api/v1/tools/{name}":                "authenticated",
	"GET /api/v1/tools/{name}/{version}":      "authenticated",
	"POST /api/v1/tools":                      "admin",
	"DELETE /api/v1/tools/{name}/{version}":   "admin",
	"GET /api/v1/agents/{agent}":              "authenticated",
	"GET /api/v1/systems":                     "authenticated",
	"GET /api/v1/agent-groups":                "authenticated",
	"GET /api/v1/agent-groups/{group}":        "authenticated",
	"GET /api/v1/agent-groups/{group}/agents": "authenticated",

	"GET /api/v1/agent-groups/{group}/instances": "authenticated",

	"GET /api/v1/projects/{project}":                                "read",
	"GET /api/v1/projects/{project}/pipelines":                      "read",
	"GET /api/v1/projects/{project}/pipelines/{pipeline}":           "read",
	"GET /api/v1/projects/{project}/stored-pipelines":               "read",
	"GET /api/v1/projects/{project}/stored-pipelines/{pipeline}":    "read",
	"PUT /api/v1/projects/{project}/stored-pipelines/{pipeline}":    "owner",
	"DELETE /api/v1/projects/{project}/stored-pipelines/{pipeline}": "owner",
	"GET /api/v1/projects/{project}/pipelines/{pipeline}/plan":      "read",
	"GET /api/v1/projects/{project}/config-errors":                  "read",
	"GET /api/v1/projects/{project}/runs":                           "read",
	"GET /api/v1/projects/{project}/semaphores":                     "read",
	"GET /api/v1/projects/{project}/semaphores/{name}":              "read",
	"GET /api/v1/projects/{project}/holds":                          "read",
	"GET /api/v1/projects/{project}/holds/{hold}":                   "read",
	"GET /api/v1/projects/{project}/key.pub":                        "read",
	"GET /api/v1/projects/{project}/ssh-key.pub":                    "read",
	"GET /api/v1/projects/{project}/ssh-known-hosts":                "read",
	"GET /api/v1/projects/{project}/members":                        "read",
	"GET /api/v1/runs/{run}":                                        "read",
	"GET /api/v1/runs/{run}/tests":                                  "read",
	"GET /api/v1/runs/{run}/history":                                "read",
	"GET /api/v1/runs/{run}/issues":                                 "read",
	"GET /api/v1/test-cases/{test_case}/history":                    "read",
	"GET /api/v1/test-cases/{test_case}/comments":                   "read",
	"GET /api/v1/projects/{project}/stats":                          "read",
	"GET /api/v1/projects/{project}/build-times":                    "read",
	"GET /api/v1/projects/{project}/badge.svg":                      "read",
	"POST /api/v1/test-cases/{test_case}/comments":                  "write",
	"PATCH /api/v1/stages/{stage}":                                  "write",
	"DELETE /api/v1/stages/{stage}":                                 "owner",
	"GET /api/v1/runs/{run}/events":                                 "read",
	"GET /api/v1/runs/{run}/stages":                                 "read",
	"GET /api/v1/runs/{run}/uploads":                                "read",
	"GET /api/v1/runs/{run}/statuses":                               "read",
	"POST /api/v1/runs/{run}/statuses/resend":                       "write",
	"GET /api/v1/runs/{run}/artifacts":                              "read",
	"GET /api/v1/runs/{run}/artifacts.zip":                          "read",
	"GET /api/v1/artifacts/{artifact}":                              "read",
	"GET /api/v1/artifacts/{artifact}/content":                      "read",
	"GET /api/v1/projects/{project}/artifacts":                      "read",
	"GET /api/v1/projects/{project}/caches":                         "read",
	"GET /api/v1/stages/{stage}":                                    "read",
	"GET /api/v1/jobs/{job}":                                        "read",
	"GET /api/v1/jobs/{job}/log":                                    "read",
	"GET /api/v1/jobs/{job}/log/stream":                             "read",
	"GET /api/v1/jobs/{job}/log/lines":                              "read",

	"POST /api/v1/projects/{project}/runs":           "write",
	"POST /api/v1/projects/{project}/holds":          "write",
	"DELETE /api/v1/projects/{project}/holds/{hold}": "write",
	"POST /api/v1/runs/{run}/cancel":                 "write",
	"POST /api/v1/runs/{run}/rerun":                  "write",
	"POST /api/v1/runs/{run}/rerun-failed":           "write",
	"POST /api/v1/runs/{run}/approve":                "write",
	"POST /api/v1/jobs/{job}/cancel":                 "write",
	"POST /api/v1/jobs/{job}/rerun":                  "write",
	"POST /api/v1/jobs/{job}/approve":                "write",
	"POST /api/v1/jobs/{job}/reject":                 "write",

	"GET /api/v1/projects/{project}/branches":                     "read",
	"GET /api/v1/projects/{project}/branches/{branch}":            "read",
	"GET /api/v1/projects/{project}/schedules":                    "read",
	"POST /api/v1/projects/{project}/pipelines/{pipeline}/plan":   "write",
	"POST /api/v1/projects/{project}/schedules/{schedule}/pause":  "write",
	"POST /api/v1/projects/{project}/schedules/{schedule}/resume": "write",
	"PATCH /api/v1/projects/{project}/branches/{branch}":          "owner",
	"DELETE /api/v1/projects/{project}/branches/{branch}":         "owner",
	// Queue control and run-number sequences.
	"POST /api/v1/projects/{project}/dequeue":                      "write",
	"POST /api/v1/runs/{run}/promote":                              "write",
	"GET /api/v1/projects/{project}/pipelines/{pipeline}/sequence": "read",
	"PUT /api/v1/projects/{project}/pipelines/{pipeline}/sequence": "owner",
	// Releases, environments and deployments (issue 18).
	"GET /api/v1/projects/{project}/environments":                     "read",
	"POST /api/v1/projects/{project}/environments":                    "owner",
	"GET /api/v1/projects/{project}/environments/{env}":               "read",
	"PUT /api/v1/projects/{project}/environments/{env}":               "owner",
	"DELETE /api/v1/projects/{project}/environments/{env}":            "owner",
	"GET /api/v1/projects/{project}/environments/{env}/deployments":   "read",
	"POST /api/v1/projects/{project}/environments/{env}/deployments":  "write",
	"PATCH /api/v1/projects/{project}/environments/{env}/deployments": "write",
	"POST /api/v1/projects/{project}/environments/{env}/promote":      "write",
	"POST /api/v1/projects/{project}/environments/{env}/rollback":     "write",
	"GET /api/v1/projects/{project}/deployments":                      "read",
	"GET /api/v1/projects/{project}/releases":                         "read",
	"GET /api/v1/projects/{project}/releases/{version}":               "read",
	"POST /api/v1/projects/{project}/releases/{version}":              "write",
	"POST /api/v1/projects/{project}/releases/{version}/final":        "write",

	// Deployment jobs, environment variables, release settings (issue 18).
	"GET /api/v1/projects/{project}/releases/{version}/deployments":              "read",
	"GET /api/v1/projects/{project}/release-settings":                            "read",
	"PUT /api/v1/projects/{project}/release-settings":                            "owner",
	"GET /api/v1/projects/{project}/environments/{env}/deployments/{deployment}": "read",
	"GET /api/v1/projects/{project}/environments/{env}/variables":                "owner",
	"PUT /api/v1/projects/{project}/environments/{env}/variables/{name}":         "owner",
	"DELETE /api/v1/projects/{project}/environments/{env}/variables/{name}":      "owner",

	"PATCH /api/v1/projects/{project}":                       "owner",
	"DELETE /api/v1/projects/{project}":                      "owner",
	"GET /api/v1/projects/{project}/secrets":                 "owner",
	"POST /api/v1/projects/{project}/secrets":                "owner",
	"GET /api/v1/projects/{project}/secrets/{name}":          "owner",
	"PUT /api/v1/projects/{project}/secrets/{name}":          "owner",
	"DELETE /api/v1/projects/{project}/secrets/{name}":       "owner",
	"PATCH /api/v1/projects/{project}/secrets/{name}":        "owner",
	"PUT /api/v1/projects/{project}/members/users/{user}":    "owner",
	"DELETE /api/v1/projects/{project}/members/users/{user}": "owner",
	"PUT /api/v1/projects/{project}/members/teams/{team}":    "owner",
	"DELETE /api/v1/projects/{project}/members/teams/{team}": "owner",
	"GET /api/v1/projects/{project}/events":                  "owner",
	"GET /api/v1/projects/{project}/hook-tokens":             "owner",
	"POST /api/v1/projects/{project}/hook-tokens":            "owner",
	"DELETE /api/v1/projects/{project}/hook-tokens/{token}":  "owner",
	"POST /api/v1/projects/{project}/hook-secret":            "owner",
	"POST /api/v1/projects/{project}/ssh-key/rotate":         "owner",
	"DELETE /api/v1/projects/{project}/ssh-known-hosts":      "owner",
	"PUT /api/v1/projects/{project}/hook-secret":             "owner",

	"GET /api/v1/projects/{project}/webhooks":                                            "owner",
	"POST /api/v1/projects/{project}/webhooks":                                           "owner",
	"GET /api/v1/projects/{project}/webhooks/{webhook}":                                  "owner",
	"PATCH /api/v1/projects/{project}/webhooks/{webhook}":                                "owner",
	"DELETE /api/v1/projects/{project}/webhooks/{webhook}":                               "owner",
	"GET /api/v1/projects/{project}/webhooks/{webhook}/deliveries":                       "owner",
	"POST /api/v1/projects/{project}/webhooks/{webhook}/deliveries/{delivery}/redeliver": "owner",

	"POST /api/v1/projects":                              "admin",
	"GET /api/v1/users":                                  "admin",
	"POST /api/v1/users":                                 "admin",
	"GET /api/v1/users/{user}":                           "admin",
	"PATCH /api/v1/users/{user}":                         "admin",
	"DELETE /api/v1/users/{user}":                        "admin",
	"PUT /api/v1/users/{user}/password":                  "admin",
	"POST /api/v1/users/{user}/tokens":                   "admin",
	"GET /api/v1/users/{user}/tokens":                    "admin",
	"GET /api/v1/users/{user}/projects":                  "admin",
	"DELETE /api/v1/users/{user}/tokens/{token}":         "admin",
	"POST /api/v1/teams":                                 "admin",
	"DELETE /api/v1/teams/{team}":                        "admin",
	"POST /api/v1/teams/{team}/members":                  "admin",
	"GET /api/v1/teams/{team}/projects":                  "admin",
	"DELETE /api/v1/teams/{team}/members/{user}":         "admin",
	"GET /api/v1/events":                                 "admin",
	"PATCH /api/v1/agents":                               "admin",
	"PATCH /api/v1/agents/{agent}":                       "admin",
	"DELETE /api/v1/agents/{agent}":                      "admin",
	"GET /api/v1/agents/{agent}/attempts":                "admin",
	"POST /api/v1/agent-groups":                          "admin",
	"PATCH /api/v1/agent-groups/{group}":                 "admin",
	"DELETE /api/v1/agent-groups/{group}":                "admin",
	"POST /api/v1/agent-groups/{group}/agents":           "admin",
	"DELETE /api/v1/agent-groups/{group}/agents/{agent}": "admin",
	"GET /api/v1/secrets":                                "admin",
	"POST /api/v1/secrets":                               "admin",
	"GET /api/v1/secrets/{name}":                         "admin",
	"PUT /api/v1/secrets/{name}":                         "admin",
	"DELETE /api/v1/secrets/{name}":                      "admin",
	"GET /api/v1/forges":                                 "admin",
	"POST /api/v1/forges":                                "admin",
	"GET /api/v1/forges/{forge}":                         "admin",
	"GET /api/v1/forges/{forge}/repositories":            "admin",
	"PATCH /api/v1/forges/{forge}":                       "admin",
	"DELETE /api/v1/forges/{forge}":                      "admin",
	"PATCH /api/v1/secrets/{name}":                       "admin",
	"GET /api/v1/registration-tokens":                    "admin",
	"POST /api/v1/registration-tokens":                   "admin",
	"POST /api/v1/registration-tokens/{token}/revoke":    "admin",

	"POST /api/v1/agent/claim":                                    "agent",
	"POST /api/v1/agent/attempts/{attempt}/report":                "agent",
	"GET /api/v1/agent/attempts/{attempt}/stop":                   "agent",
	"PUT /api/v1/agent/attempts/{attempt}/uploads/{name}":         "agent",
	"GET /api/v1/agent/attempts/{attempt}/uploads/{name}":         "agent",
	"PUT /api/v1/agent/attempts/{attempt}/artifacts":              "agent",
	"GET /api/v1/agent/attempts/{attempt}/tools/{name}/{version}": "agent",
	"GET /api/v1/agent/attempts/{attempt}/cache":                  "agent",
	"PUT /api/v1/agent/attempts/{attempt}/cache":                  "agent",
	"PUT /api/v1/agent/attempts/{attempt}/reports/{kind}":         "agent",
}

var personas = []string{"anonymous", "agent", "read", "write", "owner", "admin"}

// expect is the status class a persona gets on a route of a need on a
// private project: 0 allowed (anything but 401 and 403), or 401 or 403.
func expect(need, persona string) int {
	rank := map[string]int{"read": 1, "write": 2, "owner": 3, "admin": 4}
	switch need {
	case "public":
		return 0
	case "self":
		return 401 // nobody here holds a registration token
	case "agent":
		switch persona {
		case "agent":
			return 0
		case "anonymous":
			return 401
		}
		return 403
	}
	switch persona {
	case "anonymous":
		if need == "anyone" {
			return 0
		}
		return 401
	case "agent":
		return 403
	}
	if need == "anyone" || need == "authenticated" || rank[persona] >= rank[need] {
		return 0
	}
	return 403
}

const rbacPipeline = `
jobs:
  build:
    steps: [echo build]
`

// rbacWorld is a server with a private project "shop", users holding each
// role on it (through a direct grant, a team and a direct grant), and an
// agent; tokens maps each persona to its credential.
type rbacWorld struct {
	l               *lathetest.Lathe
	tokens          map[string]string
	run, stage, job int64
	artifact        int64
	// testCase is a test case of the job (its agent sent a JUnit report).
	testCase int64
}

func newRBACWorld(t *testing.T) *rbacWorld {
	t.Helper()
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	w := &rbacWorld{l: l, tokens: map[string]string{"admin": l.AdminToken}}
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": rbacPipeline})
	l.Do(t, "POST", "/api/v1/projects", map[string]any{"name": "shop", "url": repo}, nil)
	l.Do(t, "POST", "/api/v1/teams", map[string]any{"name": "crew"}, nil)
	for _, role := range []string{"read", "write", "owner"} {
		name := role + "er"
		l.Do(t, "POST", "/api/v1/users", map[string]any{"name": name, "password": "pw-" + name + "-123"}, nil)
		if role == "write" {
			// The writer's role comes through a team.
			l.Do(t, "POST", "/api/v1/teams/crew/members", map[string]any{"user": name}, nil)
			l.Do(t, "PUT", "/api/v1/projects/shop/members/teams/crew", map[string]any{"role": role}, nil)
		} else {
			l.Do(t, "PUT", "/api/v1/projects/shop/members/users/"+name, map[string]any{"role": role}, nil)
		}
		w.tokens[role] = login(t, l, name, "pw-"+name+"-123")
	}
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "victim", "password": "pw-victim-123"}, nil)
	var reg struct {
		Token string `json:"token"`
	}
	l.Do(t, "POST", "/api/v1/registration-tokens", map[string]any{"name": "rbac"}, &reg)
	code, _, cred := register(t, l, reg.Token, "rbac-agent", "nomatch")
	if code != http.StatusCreated {
		t.Fatalf("register agent: %d", code)
	}
	w.tokens["agent"] = cred
	var run lathe.Run
	l.Do(t, "POST", "/api/v1/projects/shop/runs", map[string]string{"pipeline": "main"}, &run)
	l.Do(t, "GET", fmt.Sprintf("/api/v1/runs/%d", run.ID), nil, &run)
	if len(run.Stages) == 0 || len(run.Jobs) == 0 {
		t.Fatalf("run %d has no stages or jobs", run.ID)
	}
	w.run, w.stage, w.job = run.ID, run.Stages[0].ID, run.Jobs[0].ID
	// The agent takes the job, keeps one artifact and sends a report (so a
	// test case exists), for the artifact and test-case routes.
	agent := client.New(l.URL, cred)
	as, err := agent.Claim(t.Context(), 5, "")
	if err != nil || as == nil || as.JobID != w.job {
		t.Fatalf("claim the run's job: %+v, %v", as, err)
	}
	a, err := agent.PutArtifact(t.Context(), as.AttemptID, "out.txt", strings.NewReader("rbac"), 4, fmt.Sprintf("%x", sha256.Sum256([]byte("rbac"))), 0)
	if err != nil {
		t.Fatalf("artifact: %v", err)
	}
	w.artifact = a.ID
	xml := `<testsuite name="s"><testcase classname="s" name="TestRBAC"/></testsuite>`
	if _, err := agent.PutReport(t.Context(), as.AttemptID, "junit", "junit.xml", strings.NewReader(xml), int64(len(xml))); err != nil {
		t.Fatalf("send report: %v", err)
	}
	var tests lathe.RunTests
	l.Do(t, "GET", fmt.Sprintf("/api/v1/runs/%d/tests", run.ID), nil, &tests)
	if len(tests.Items) != 1 {
		t.Fatalf("tests of the run: %+v", tests)
	}
	w.testCase = tests.Items[0].ID
	return w
}

// login opens a session and returns its token.
func login(t *testing.T, l *lathetest.Lathe, user, password string) string {
	t.Helper()
	var s struct {
		Session lathe.APIToken `json:"session"`
	}
	if err := l.ClientAs(t, "").Do(context.Background(), "POST", "/api/v1/sessions",
		map[string]string{"username": user, "password": password}, &s); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return s.Session.Token
}

// path fills a route's path parameters with things that exist (or, for
// destructive routes, with things whose loss does not matter).
func (w *rbacWorld) path(p string) string {
	vals := map[string]string{"project": "shop", "pipeline": "ci", "run": fmt.Sprint(w.run), "stage": fmt.Sprint(w.stage),
		"job": fmt.Sprint(w.job), "attempt": "999999", "hold": "999999", "name": "RBAC_SECRET", "group": "nogroup",
		"agent": "999999", "token": "999999", "user": "victim", "team": "ghost-team", "webhook": "999999", "delivery": "999999",
		"branch": "ghost%2Fbranch", "schedule": "999999", "forge_kind": "github", "forge": "noforge", "artifact": fmt.Sprint(w.artifact),
		"test_case": fmt.Sprint(w.testCase), "kind": "junit",
		"env": "ghost-env", "version": "0.0.0-rc1", "deployment": "999999"}
	return regexp.MustCompile(`\{([^}]+)\}`).ReplaceAllStringFunc(p, func(m string) string {
		v, ok := vals[m[1:len(m)-1]]
		if !ok {
			panic("no value for path parameter " + m)
		}
		return v
	})
}

// rbacCall makes one request and returns its status; a streaming answer that
// does not finish counts as 200 (the guard let it through).
func rbacCall(t *testing.T, base, method, path, token string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if strings.HasSuffix(path, "/claim") {
		path += "?wait=0"
	}
	req, _ := http.NewRequestWithContext(ctx, method, base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := lathetest.HTTPClient(t).Do(req)
	if errors.Is(err, context.DeadlineExceeded) {
		return 200
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRBACMatrix walks every route of the OpenAPI document with every kind
// of caller and checks who is let in.
func TestRBACMatrix(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var routes []string
	for p, ops := range doc.Paths {
		for m := range ops {
			switch m {
			case "get", "put", "post", "delete", "patch":
				routes = append(routes, strings.ToUpper(m)+" "+p)
			}
		}
	}
	// Destructive routes go last: deleting the project, then logging out.
	last := map[string]int{"DELETE /api/v1/stages/{stage}": 1, "DELETE /api/v1/projects/{project}": 2, "DELETE /api/v1/sessions/current": 3}
	sort.Slice(routes, func(i, j int) bool {
		if last[routes[i]] != last[routes[j]] {
			return last[routes[i]] < last[routes[j]]
		}
		return routes[i] < routes[j]
	})
	for _, r := range routes {
		if _, ok := routeNeeds[r]; !ok {
			t.Errorf("%s has no entry in routeNeeds: say who may call it", r)
		}
	}
	w := newRBACWorld(t)
	for _, r := range routes {
		need, ok := routeNeeds[r]
		if !ok {
			continue
		}
		method, p, _ := strings.Cut(r, " ")
		for _, who := range personas {
			got := rbacCall(t, w.l.URL, method, w.path(p), w.tokens[who])
			want := expect(need, who)
			switch {
			case want == 0 && (got == 401 || got == 403):
				t.Errorf("%s as %s (needs %s): %d, want allowed", r, who, need, got)
			case want != 0 && got != want:
				t.Errorf("%s as %s (needs %s): %d, want %d", r, who, need, got, want)
			}
		}
	}
}
