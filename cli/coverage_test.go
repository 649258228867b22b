package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/api"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// apiOnly is every operation of the API that no CLI command calls, with
// why: a person or a script does everything else from the CLI.
var apiOnly = map[string]string{
	"healthz":            "a probe for load balancers and orchestrators",
	"readyz":             "a probe for load balancers and orchestrators",
	"getOpenAPI":         "the API's description, for tools that read it",
	"pipelineSchema":     "the pipeline file's JSON Schema, for editors",
	"badge":              "an SVG image for a README",
	"hook":               "called by a forge or a script with a hook token",
	"forgeHook":          "called by a forge, signed with the project's hook secret",
	"registerAgent":      "the agent protocol, spoken by `lathe agent`",
	"claim":              "the agent protocol, spoken by `lathe agent`",
	"report":             "the agent protocol, spoken by `lathe agent`",
	"putUpload":          "the agent protocol, spoken by `lathe agent`",
	"getUpload":          "the agent protocol, spoken by `lathe agent`",
	"putArtifact":        "the agent protocol, spoken by `lathe agent`",
	"restoreCache":       "the agent protocol, spoken by `lathe agent`",
	"saveCache":          "the agent protocol, spoken by `lathe agent`",
	"putReport":          "the agent protocol, spoken by `lathe agent`",
	"getToolArchive":     "the agent protocol, spoken by `lathe agent`",
	"waitStop":           "the agent protocol, spoken by `lathe agent`",
	"getSession":         "the web UI's check of its cookie",
	"getArtifact":        "`lathe artifacts list RUN` shows every artifact with the same fields",
	"listProjectRuns":    "`lathe runs --project P` lists them through GET /api/v1/runs?project=P",
	"updateAgent":        "`lathe agents update` changes one agent or several through PATCH /api/v1/agents (all or none)",
	"planPostedPipeline": "`lathe plan` plans local files with the server's own engine, here; the route serves editors and the web UI",
	"runArtifactsZip":    "a browser's download of all artifacts; `lathe artifacts get RUN` fetches each file and checks it",
}

// commandLine is one CLI invocation of the coverage test.
type commandLine struct {
	args  []string
	stdin string
	// refused: the server may refuse it in this state (the operation is
	// still reached); otherwise it must succeed.
	refused bool
	// noToken: the command takes no --token (login, logout).
	noToken bool
}

// Every operation of the API is reached by a CLI command, unless apiOnly
// says why not: the commands below run against a proxy that records which
// operations of the OpenAPI document they call.
func TestEveryOperationHasACommand(t *testing.T) {
	router, err := lathetest.OpenAPIRouter()
	if err != nil {
		t.Fatal(err)
	}
	l := lathetest.Start(t, lathetest.Options{Agents: 1, ScheduleInterval: 100 * time.Millisecond})
	var mu sync.Mutex
	reached := map[string]bool{}
	target, _ := url.Parse(l.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route, _, err := router.FindRoute(r); err == nil {
			mu.Lock()
			reached[route.Operation.OperationID] = true
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	defer rec.Close()

	config := filepath.Join(t.TempDir(), "logins.json")
	getenv := func(k string) string {
		if k == "LATHE_CONFIG" {
			return config
		}
		return ""
	}
	for _, line := range coverageLines(t, l) {
		var stdout, stderr bytes.Buffer
		env := &cli.Env{Stdin: strings.NewReader(line.stdin), Stdout: &stdout, Stderr: &stderr, Getenv: getenv}
		args := append(append([]string{}, line.args...), "--server", rec.URL)
		if !line.noToken {
			args = append(args, "--token", l.AdminToken)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		code := cli.Run(ctx, args, env)
		cancel()
		if code != 0 && !line.refused {
			t.Errorf("lathe %s: exit %d\n%s%s", strings.Join(line.args, " "), code, stdout.String(), stderr.String())
		}
	}

	var missing []string
	for _, id := range operationIDs(t) {
		if _, ok := apiOnly[id]; ok {
			if reached[id] {
				t.Errorf("%s is listed as API-only, but a command calls it", id)
			}
			continue
		}
		if !reached[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("no command calls these operations (add one, or say in apiOnly why not):\n%s", strings.Join(missing, "\n"))
	}
}

// operationIDs is every operation of the OpenAPI document.
func operationIDs(t *testing.T) []string {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			ids = append(ids, op.OperationID)
		}
	}
	sort.Strings(ids)
	return ids
}

// coverageLines seeds a server with one of everything and returns the
// command lines that reach every operation, in an order that works.
func coverageLines(t *testing.T, l *lathetest.Lathe) []commandLine {
	repo := lathetest.Repo(t, map[string]string{
		".lathe.yml": `name: ci
on: {push: {}, manual: {}, schedule: [{cron: "0 3 * * *"}]}
jobs:
  build:
    concurrency: {group: deploy, limit: 1}
    cache: [{key: deps, paths: [deps]}]
    steps:
      - mkdir -p deps && echo dep > deps/d && echo built > out.txt
      - printf '<testsuite name="s"><testcase classname="c" name="t"/></testsuite>' > junit.xml
      - upload: {name: bin, paths: [out.txt]}
    artifacts: {paths: [out.txt]}
    reports: {junit: [junit.xml]}
`,
		".lathe/ext.yml":    "on: {manual: {}}\nstages: [build, {name: scan, external: true}]\njobs:\n  b:\n    stage: build\n    steps: [true]\n",
		".lathe/gated.yml":  "on: {manual: {}}\njobs:\n  wait:\n    approval: {}\n    steps: [true]\n",
		".lathe/fails.yml":  "on: {manual: {}}\njobs:\n  no:\n    steps: [\"false\"]\n",
		".lathe/build.yml":  "on: {manual: {}}\njobs:\n  b:\n    steps: [true]\n",
		".lathe/deploy.yml": "on: {manual: {}}\nparameters:\n  version: {type: string, default: x}\n  environment: {type: string, default: x}\njobs:\n  d:\n    steps: [true]\n",
	})
	l.Project(t, "shop", repo)
	l.Project(t, "gone", repo)
	wait := func(pipeline string) *lathe.Run {
		return l.Wait(t, l.Trigger(t, "shop", "", pipeline).ID, 2*time.Minute)
	}
	ci, failed := wait("ci"), wait("fails")
	ext := l.Trigger(t, "shop", "", "ext")
	gated := make([]*lathe.Run, 4)
	for i := range gated {
		gated[i] = l.Trigger(t, "shop", "", "gated")
	}
	gatedJob := func(i int) string {
		for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if r := l.Run(t, gated[i].ID); len(r.Jobs) > 0 && r.Jobs[0].Status == lathe.StatusWaiting {
				return fmt.Sprint(r.Jobs[0].ID)
			}
		}
		t.Fatalf("run %d never waited for approval", gated[i].ID)
		return ""
	}
	var stages struct {
		Items []*lathe.Stage `json:"items"`
	}
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/stages", ext.ID), nil, &stages)
	var extStage string
	for _, st := range stages.Items {
		if st.Name == "scan" {
			extStage = fmt.Sprint(st.ID)
		}
	}
	var doneStage string
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/stages", ci.ID), nil, &stages)
	doneStage = fmt.Sprint(stages.Items[0].ID)

	agent := ""
	for _, at := range l.Job(t, ci.Jobs[0].ID).Attempts {
		agent = at.Agent
	}
	var tests struct {
		Items []struct {
			TestCaseID int64 `json:"id"`
		} `json:"items"`
	}
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/tests", ci.ID), nil, &tests)
	if len(tests.Items) == 0 {
		t.Fatalf("run %d reported no test", ci.ID)
	}
	testCase := fmt.Sprint(tests.Items[0].TestCaseID)
	l.Do(t, http.MethodPut, "/api/v1/users/admin/password", map[string]any{"password": "admin-password"}, nil)
	var hookTok lathe.APIToken
	l.Do(t, http.MethodPost, "/api/v1/projects/shop/hook-tokens", map[string]string{"name": "forge"}, &hookTok)
	var reg struct {
		ID int64 `json:"id"`
	}
	l.Do(t, http.MethodPost, "/api/v1/registration-tokens", map[string]string{"name": "fleet"}, &reg)
	var idle struct {
		Token string `json:"token"`
	}
	l.Do(t, http.MethodPost, "/api/v1/registration-tokens", map[string]string{"name": "idle"}, &idle)
	if err := l.ClientAs(t, idle.Token).Do(context.Background(), http.MethodPost, "/api/v1/agent/register", map[string]any{"name": "idle"}, nil); err != nil {
		t.Fatalf("register an agent: %v", err)
	}
	var userTok lathe.APIToken
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "dee", "password": "dee-password"}, nil)
	l.Do(t, http.MethodPost, "/api/v1/users/dee/tokens", map[string]any{"name": "ci"}, &userTok)
	var myTok lathe.APIToken
	l.Do(t, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "mine"}, &myTok)
	var webhook, webhookGone struct {
		ID int64 `json:"id"`
	}
	l.Do(t, http.MethodPost, "/api/v1/projects/shop/webhooks", map[string]any{"url": "https://hooks.example/lathe", "events": []string{"run"}}, &webhook)
	l.Do(t, http.MethodPost, "/api/v1/projects/shop/webhooks", map[string]any{"url": "https://hooks.example/gone", "events": []string{"run"}}, &webhookGone)
	var schedules struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	for end := time.Now().Add(30 * time.Second); len(schedules.Items) == 0 && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		l.Do(t, http.MethodGet, "/api/v1/projects/shop/schedules", nil, &schedules)
	}
	if len(schedules.Items) == 0 {
		t.Fatal("the schedule of ci is not listed")
	}
	schedule := fmt.Sprint(schedules.Items[0].ID)
	var hold lathe.Hold
	l.Do(t, http.MethodPost, "/api/v1/projects/shop/holds", map[string]any{"pipeline": "ci", "job": "build", "count": 1, "duration": "1h"}, &hold)
	l.Do(t, http.MethodPost, "/api/v1/projects/shop/environments", map[string]any{"name": "qa", "position": 5}, nil)
	var artifacts struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/artifacts", ci.ID), nil, &artifacts)
	if len(artifacts.Items) == 0 {
		t.Fatalf("run %d kept no artifact", ci.ID)
	}
	tool := t.TempDir()
	os.WriteFile(filepath.Join(tool, "lathe-tool.yml"), []byte("name: greet\nversion: 1.0.0\nentrypoint: run.sh\n"), 0o644)
	os.WriteFile(filepath.Join(tool, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	pipelineFile := filepath.Join(t.TempDir(), "nightly.yml")
	os.WriteFile(pipelineFile, []byte("on: {manual: {}}\njobs:\n  n:\n    steps: [true]\n"), 0o644)
	out := t.TempDir()

	r, f, e := fmt.Sprint(ci.ID), fmt.Sprint(failed.ID), fmt.Sprint(ext.ID)
	job := fmt.Sprint(ci.Jobs[0].ID)
	wh, whGone := fmt.Sprint(webhook.ID), fmt.Sprint(webhookGone.ID)
	ok := func(args ...string) commandLine { return commandLine{args: args} }
	refusedOK := func(args ...string) commandLine { return commandLine{args: args, refused: true} }
	withStdin := func(stdin string, args ...string) commandLine { return commandLine{args: args, stdin: stdin} }
	return []commandLine{
		ok("version"),
		ok("project", "list"), ok("project", "get", "shop"), ok("project", "update", "shop", "--default-branch", "main"),
		ok("project", "create", "new", repo), ok("project", "delete", "gone"),
		ok("project", "members", "list", "shop"), ok("project", "members", "grant", "shop", "read", "--user", "dee"),
		ok("project", "members", "revoke", "shop", "--user", "dee"),
		ok("project", "ssh-key", "shop", "--known-hosts"), ok("ssh-key"), ok("project", "ssh-key", "shop", "--rotate"),
		ok("project", "ssh-key", "shop", "--forget-known-hosts"),
		ok("pipelines"), ok("pipelines", "shop"), ok("pipelines", "shop", "ci"), ok("plan", "ci", "--project", "shop"), ok("config-errors", "shop"),
		withStdin("on: {manual: {}}\njobs:\n  n:\n    steps: [true]\n", "stored-pipeline", "put", "shop", "nightly"),
		ok("stored-pipeline", "put", "shop", "nightly2", pipelineFile),
		ok("stored-pipeline", "list", "shop"), ok("stored-pipeline", "get", "shop", "nightly"), ok("stored-pipeline", "delete", "shop", "nightly"),
		ok("roles"), ok("runs"), ok("runs", "--project", "shop"), ok("status", r), ok("job", job), ok("whoami"), ok("stage", "list", r), ok("stage", "get", doneStage), ok("logs", r), ok("logs", r, "-f"), ok("logs", r, "--tail", "2"),
		ok("jobs"), ok("history", r), ok("tests", r), ok("issues", r), ok("builds"), ok("stats", "shop", "--job", "build"),
		ok("test-case", "history", testCase), ok("test-case", "comment", testCase, "flaky on arm"), ok("test-case", "comments", testCase),
		ok("artifacts", "list", r), ok("artifacts", "get", r, "-o", out), ok("artifacts", "get", r, "out.txt", "-o", out+"/one"), ok("artifacts", "history", "shop"), ok("artifacts", "uploads", r),
		ok("caches", "shop"), ok("statuses", r), refusedOK("statuses", r, "--resend"),
		ok("approve", gatedJob(0)), ok("reject", gatedJob(1), "--comment", "not now"),
		ok("cancel", "--job", gatedJob(2)), ok("cancel", fmt.Sprint(gated[3].ID)),
		ok("rerun", r), ok("rerun", f, "--failed"), ok("rerun", "--job", job),
		refusedOK("approve", "--run", r),
		ok("promote", e), ok("stage", "set", extStage, "success"), refusedOK("stage", "delete", doneStage), ok("semaphores", "shop"), ok("semaphores", "shop", "deploy"),
		ok("run", "shop", "--pipeline", "gated"), ok("dequeue", "shop", "--ref", "main", "--pipeline", "gated"),
		ok("sequence", "shop", "ci"), ok("sequence", "shop", "ci", "--next", "100"),
		ok("branch", "list", "shop"), ok("branch", "get", "shop", "main"), ok("branch", "update", "shop", "main", "--keep-runs", "50"),
		ok("schedule", "list", "shop"), ok("schedule", "pause", "shop", schedule), ok("schedule", "resume", "shop", schedule),
		ok("hold", "create", "shop", "--pipeline", "ci", "--job", "build"), ok("hold", "list", "shop"),
		ok("hold", "get", "shop", fmt.Sprint(hold.ID)), ok("hold", "delete", "shop", fmt.Sprint(hold.ID)),
		ok("hooks", "create", "shop", "other"), ok("hooks", "list", "shop"), ok("hooks", "revoke", "shop", fmt.Sprint(hookTok.ID)),
		ok("hooks", "secret", "shop"), withStdin("chosen-secret-0123456789\n", "hooks", "secret", "shop", "--stdin"),
		ok("webhook", "create", "shop", "https://hooks.example/new", "--event", "run"), ok("webhook", "list", "shop"),
		ok("webhook", "get", "shop", wh), ok("webhook", "update", "shop", wh, "--url", "https://hooks.example/moved"),
		ok("webhook", "deliveries", "shop", wh), refusedOK("webhook", "redeliver", "shop", wh, "1"), ok("webhook", "delete", "shop", whGone),
		withStdin("s3cret-value\n", "secrets", "set", "DB_PASSWORD", "--project", "shop", "--new"),
		withStdin("s3cret-value2\n", "secrets", "set", "DB_PASSWORD", "--project", "shop"), ok("secrets", "list", "--project", "shop"),
		ok("secrets", "get", "DB_PASSWORD", "--project", "shop"), ok("secrets", "protect", "DB_PASSWORD", "--project", "shop", "--branches", "main"),
		ok("secrets", "delete", "DB_PASSWORD", "--project", "shop"),
		withStdin("global-value\n", "secrets", "set", "TOKEN", "--new"), withStdin("global-value2\n", "secrets", "set", "TOKEN"), ok("secrets", "list"), ok("secrets", "get", "TOKEN"),
		ok("secrets", "grant", "TOKEN", "shop"), ok("secrets", "revoke", "TOKEN", "shop"), ok("secrets", "protect", "TOKEN", "--branches", "main"),
		ok("secrets", "delete", "TOKEN"), withStdin("value-to-seal\n", "encrypt", "--project", "shop"),
		ok("environment", "create", "shop", "staging", "--position", "1", "--deploy-pipeline", "deploy"),
		ok("environment", "create", "shop", "production", "--position", "2", "--deploy-pipeline", "deploy", "--protected", "--approver", "role:owner"),
		ok("environment", "list"), ok("environment", "list", "shop"), ok("environment", "get", "shop", "staging"),
		ok("environment", "update", "shop", "staging", "--protected=false"), ok("environment", "delete", "shop", "qa", "--yes"),
		ok("release", "create", "shop", "1.0.0-rc1", "--commit", ci.Commit), ok("release", "list", "shop"), ok("release", "get", "shop", "1.0.0"),
		ok("release", "settings", "shop"), ok("release", "settings", "shop", "--build-pipeline", "build"),
		ok("deploy", "shop", "staging", "1.0.0-rc1"), ok("release", "deployments", "shop", "1.0.0"),
		ok("environments", "shop"), ok("deployments"), ok("deployments", "--project", "shop", "--environment", "staging"),
		ok("environment", "deployment", "shop", "staging", "1"),
		ok("environment", "report", "shop", "production", "1.0.0-rc1", "success"),
		refusedOK("release", "promote", "shop", "staging"), refusedOK("rollback", "shop", "staging"), ok("release", "final", "shop", "1.0.0"),
		withStdin("v\n", "envvars", "set", "shop", "staging", "REGION"), ok("envvars", "list", "shop", "staging"),
		ok("envvars", "delete", "shop", "staging", "REGION"),
		ok("agents", "list"), ok("agents", "get", agent), ok("agents", "update", agent, "--labels", "linux"), ok("agents", "attempts", agent),
		ok("agents", "systems"),
		ok("agents", "groups", "create", "farm"), ok("agents", "groups", "list"), ok("agents", "groups", "get", "farm"),
		ok("agents", "groups", "update", "farm", "--description", "the farm"), ok("agents", "groups", "add", "farm", agent),
		ok("agents", "groups", "agents", "farm"), ok("agents", "groups", "instances", "farm"), ok("agents", "groups", "remove", "farm", agent),
		ok("agents", "groups", "delete", "farm"),
		ok("agents", "tokens", "create", "more"), ok("agents", "tokens", "list"), ok("agents", "tokens", "revoke", fmt.Sprint(reg.ID)),
		withStdin("erin-password\nerin-password\n", "user", "create", "erin"), ok("user", "list"), ok("user", "get", "erin"),
		ok("user", "update", "erin", "--email", "erin@example.com"), withStdin("erin-password2\nerin-password2\n", "user", "reset-password", "erin"),
		ok("user", "tokens", "dee"), ok("user", "create-token", "dee", "deploy"), ok("user", "revoke-token", "dee", fmt.Sprint(userTok.ID)),
		ok("user", "projects", "dee"), ok("user", "delete", "erin"),
		ok("token", "create", "ci"), ok("token", "list"), ok("token", "revoke", fmt.Sprint(myTok.ID)),
		ok("team", "create", "ops"), ok("team", "list"), ok("team", "get", "ops"), ok("team", "add", "ops", "dee"),
		ok("team", "projects", "ops"), ok("project", "members", "grant", "shop", "write", "--team", "ops"),
		ok("project", "members", "revoke", "shop", "--team", "ops"), ok("team", "remove", "ops", "dee"), ok("team", "delete", "ops"),
		withStdin("forge-token\n", "forge", "create", "gh", "--kind", "github", "--url", "https://github.com", "--with-token"), ok("forge", "list"), ok("forge", "get", "gh"),
		ok("forge", "update", "gh", "--api-url", "https://api.github.com"), refusedOK("forge", "repos", "gh"), ok("forge", "delete", "gh"),
		ok("tool", "push", tool), ok("tool", "list"), ok("tool", "list", "greet"), ok("tool", "get", "greet@1.0.0"), ok("tool", "delete", "greet@1.0.0"),
		ok("events"), ok("events", "--project", "shop"),
		ok("branch", "delete", "shop", "main"),
		withStdin("admin-password\nadmin-password2\n", "user", "passwd"),
		ok("agents", "delete", "idle"),
		{args: []string{"login", "admin", "--password-stdin"}, stdin: "admin-password2\n", noToken: true}, {args: []string{"logout"}, noToken: true},
	}
}
