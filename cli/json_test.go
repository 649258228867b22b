package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// Every list and get command's --json prints what its route answers, as
// the OpenAPI document describes that answer; -o yaml, --jq and --quiet
// print the same answer in their forms.
func TestJSONOutputMatchesTheAPIDocument(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": `
name: ci
jobs:
  build:
    concurrency: {group: deploy, limit: 1}
    steps: [echo built > out.txt]
    artifacts: {paths: [out.txt]}
`}))
	run := l.Wait(t, l.Trigger(t, "shop", "", "").ID, 2*time.Minute)
	if run.Status != lathe.StatusSuccess {
		t.Fatalf("seed run: %s", run.Status)
	}
	var agent lathe.Agent
	for _, j := range run.Jobs {
		for _, at := range l.Job(t, j.ID).Attempts {
			agent.Name = at.Agent
		}
	}
	l.Do(t, http.MethodPost, "/api/v1/projects/shop/hook-tokens", map[string]string{"name": "forge"}, nil)
	l.Do(t, http.MethodPost, "/api/v1/teams", map[string]string{"name": "ops"}, nil)
	l.Do(t, http.MethodPut, "/api/v1/projects/shop/members/teams/ops", map[string]string{"role": "write"}, nil)
	l.Do(t, http.MethodPost, "/api/v1/agent-groups", map[string]string{"name": "farm"}, nil)
	l.Do(t, http.MethodPut, "/api/v1/projects/shop/secrets/DB_PASSWORD", map[string]string{"value": "s3cret-value"}, nil)
	var hold lathe.Hold
	l.Do(t, http.MethodPost, "/api/v1/projects/shop/holds", map[string]any{"pipeline": "ci", "job": "build", "count": 1, "duration": "1h"}, &hold)
	l.RegistrationToken(t)
	r := fmt.Sprint(run.ID)
	if responseSchema(t, "/api/v1/runs").VisitJSON(map[string]any{"items": "not a list"}) == nil {
		t.Fatal("the schema check accepts an answer the document forbids: it checks nothing")
	}

	for _, tc := range []struct {
		args  []string
		route string          // the path the command calls (GET)
		pick  func(v any) any // the part of the output the route answered (nil: all of it)
	}{
		{args: []string{"project", "list"}, route: "/api/v1/projects"},
		{args: []string{"project", "get", "shop"}, route: "/api/v1/projects/shop"},
		{args: []string{"project", "members", "list", "shop"}, route: "/api/v1/projects/shop/members"},
		{args: []string{"pipelines", "shop"}, route: "/api/v1/projects/shop/pipelines"},
		{args: []string{"pipelines"}, route: "/api/v1/pipelines?limit=20"},
		{args: []string{"roles"}, route: "/api/v1/roles"},
		{args: []string{"deployments"}, route: "/api/v1/deployments?limit=20"},
		{args: []string{"jobs", "--status", "success"}, route: "/api/v1/jobs?limit=20&status=success"},
		{args: []string{"team", "projects", "ops"}, route: "/api/v1/teams/ops/projects"},
		{args: []string{"runs"}, route: "/api/v1/runs"},
		{args: []string{"status", r}, route: "/api/v1/runs/" + r},
		{args: []string{"history", r}, route: "/api/v1/runs/" + r + "/history?limit=20"},
		{args: []string{"hooks", "list", "shop"}, route: "/api/v1/projects/shop/hook-tokens"},
		{args: []string{"user", "list"}, route: "/api/v1/users"},
		{args: []string{"user", "get", "admin"}, route: "/api/v1/users/admin"},
		{args: []string{"user", "tokens", "admin"}, route: "/api/v1/users/admin/tokens"},
		{args: []string{"token", "list"}, route: "/api/v1/tokens"},
		{args: []string{"team", "list"}, route: "/api/v1/teams"},
		{args: []string{"team", "get", "ops"}, route: "/api/v1/teams/ops"},
		{args: []string{"agents", "list"}, route: "/api/v1/agents"},
		{args: []string{"agents", "get", agent.Name}, route: "/api/v1/agents/" + agent.Name},
		{args: []string{"agents", "attempts", agent.Name}, route: "/api/v1/agents/" + agent.Name + "/attempts"},
		{args: []string{"agents", "tokens", "list"}, route: "/api/v1/registration-tokens"},
		{args: []string{"agents", "groups", "list"}, route: "/api/v1/agent-groups"},
		{args: []string{"agents", "groups", "get", "farm"}, route: "/api/v1/agent-groups/farm"},
		{args: []string{"agents", "groups", "agents", "farm"}, route: "/api/v1/agent-groups/farm/agents"},
		{args: []string{"secrets", "list", "--project", "shop"}, route: "/api/v1/projects/shop/secrets"},
		{args: []string{"secrets", "get", "--project", "shop", "DB_PASSWORD"}, route: "/api/v1/projects/shop/secrets/DB_PASSWORD"},
		{args: []string{"semaphores", "shop"}, route: "/api/v1/projects/shop/semaphores"},
		{args: []string{"semaphores", "shop", "deploy"}, route: "/api/v1/projects/shop/semaphores/deploy"},
		{args: []string{"hold", "list", "shop"}, route: "/api/v1/projects/shop/holds"},
		{args: []string{"hold", "get", "shop", fmt.Sprint(hold.ID)}, route: fmt.Sprintf("/api/v1/projects/shop/holds/%d", hold.ID)},
		{args: []string{"tests", r}, route: "/api/v1/runs/" + r + "/tests"},
		{args: []string{"issues", r}, route: "/api/v1/runs/" + r + "/issues"},
		{args: []string{"builds"}, route: "/api/v1/builds"},
		{args: []string{"stats", "shop"}, route: "/api/v1/projects/shop/stats", pick: func(v any) any { return v.(map[string]any)["stats"] }},
		{args: []string{"environments", "shop"}, route: "/api/v1/projects/shop/deployments"},
		{args: []string{"release", "list", "shop"}, route: "/api/v1/projects/shop/releases"},
		{args: []string{"sequence", "shop", "ci"}, route: "/api/v1/projects/shop/pipelines/ci/sequence"},
		{args: []string{"artifacts", "list", r}, route: "/api/v1/runs/" + r + "/artifacts"},
		{args: []string{"tool", "list"}, route: "/api/v1/tools"},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			out := runCLI(t, l, tc.args, "--json")
			var doc any
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("--json printed no JSON: %v\n%s", err, out)
			}
			if tc.pick != nil {
				doc = tc.pick(doc)
			}
			schema := responseSchema(t, tc.route)
			if err := schema.VisitJSON(doc); err != nil {
				t.Errorf("--json does not match the schema of GET %s: %v\n%s", tc.route, err, out)
			}
			// The other forms print the same answer.
			var fromYAML any
			if y := runCLI(t, l, tc.args, "-o", "yaml"); y == "" {
				t.Errorf("-o yaml printed nothing")
			} else if err := yaml.Unmarshal([]byte(y), &fromYAML); err != nil {
				t.Errorf("-o yaml printed no YAML: %v\n%s", err, y)
			}
			if got := runCLI(t, l, tc.args, "--jq", "."); !reflect.DeepEqual(decode(t, got), decode(t, out)) {
				t.Errorf("--jq . printed\n%s\nwant the --json answer\n%s", got, out)
			}
		})
	}
}

// The IDs --quiet prints are those of the answer's items.
func TestQuietPrintsIDs(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n"}))
	a := l.Trigger(t, "shop", "", "")
	b := l.Trigger(t, "shop", "", "")
	if got, want := runCLI(t, l, []string{"runs"}, "--quiet"), fmt.Sprintf("%d\n%d\n", b.ID, a.ID); got != want {
		t.Errorf("runs --quiet printed %q, want %q", got, want)
	}
	if got := runCLI(t, l, []string{"project", "list"}, "-q"); got != "shop\n" {
		t.Errorf("project list -q printed %q, want the project's name", got)
	}
	if got := runCLI(t, l, []string{"runs"}, "--jq", ".items[0].id"); got != fmt.Sprintf("%d\n", b.ID) {
		t.Errorf("runs --jq .items[0].id printed %q, want %d", got, b.ID)
	}
}

func runCLI(t *testing.T, l *lathetest.Lathe, args []string, extra ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	all := append(append(append([]string{}, args...), extra...), "--server", l.URL, "--token", l.AdminToken)
	if code := cli.Run(context.Background(), all, env); code != 0 {
		t.Fatalf("lathe %s: exit %d\n%s%s", strings.Join(all[:len(all)-2], " "), code, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// `lathe run PROJECT` without --pipeline starts every pipeline a manual
// request selects, and prints what it started as the output flags ask,
// as it does with --pipeline: the IDs with -q, the answer with --json or --jq.
func TestRunPrintsAsAskedWithoutPipeline(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n"}))
	id := regexp.MustCompile(`^[0-9]+\n$`)
	for _, args := range [][]string{{"run", "shop", "-q"}, {"run", "shop", "--pipeline", "main", "-q"}} {
		if got := runCLI(t, l, args); !id.MatchString(got) {
			t.Errorf("lathe %s printed %q, want the run's ID", strings.Join(args, " "), got)
		}
	}
	var answer struct {
		Items []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		} `json:"items"`
		Errors []string `json:"errors"`
	}
	got := runCLI(t, l, []string{"run", "shop", "--json"})
	if err := json.Unmarshal([]byte(got), &answer); err != nil || len(answer.Items) != 1 || answer.Items[0].ID == 0 || answer.Errors == nil {
		t.Errorf("run shop --json printed %q (%v), want the answer: the run started and no errors", got, err)
	}
	if got := runCLI(t, l, []string{"run", "shop", "--jq", ".items[].status"}); got != "queued\n" {
		t.Errorf("run shop --jq .items[].status printed %q, want queued", got)
	}
}

// The commands that start a run or a deployment print its ID alone with
// -q, as lathe run does: a re-run (of a run, a job by name, or the failed
// jobs) too, with the answer under --json or --jq.
func TestStartingCommandsTakeQuiet(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n  b:\n    steps: [false]\n"}))
	run := l.Wait(t, l.Trigger(t, "shop", "", "").ID, 2*time.Minute)
	id := fmt.Sprint(run.ID)
	isID := regexp.MustCompile(`^[0-9]+\n$`)
	for _, args := range [][]string{{"rerun", id, "-q"}, {"rerun", id, "a", "--quiet"}, {"rerun", id, "--failed", "-q"}} {
		got := runCLI(t, l, args)
		if !isID.MatchString(got) || got == id+"\n" {
			t.Errorf("lathe %s printed %q, want the new run's ID", strings.Join(args, " "), got)
		}
	}
	if got := runCLI(t, l, []string{"rerun", id, "--jq", ".project"}); got != "shop\n" {
		t.Errorf("rerun --jq .project printed %q, want shop", got)
	}
	for _, cmd := range [][]string{{"run"}, {"rerun"}, {"deploy"}, {"rollback"}, {"release", "promote"}} {
		if help := runCLI(t, l, append(cmd, "--help")); !strings.Contains(help, "--quiet") {
			t.Errorf("lathe %s takes no --quiet:\n%s", strings.Join(cmd, " "), help)
		}
	}
}

// responseSchema is the schema of the 200 answer of GET path.
func responseSchema(t *testing.T, path string) *openapi3.Schema {
	t.Helper()
	router, err := lathetest.OpenAPIRouter()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://x"+path, nil)
	route, _, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp := route.Operation.Responses.Status(http.StatusOK)
	if resp == nil || resp.Value == nil || resp.Value.Content.Get("application/json") == nil {
		t.Fatalf("GET %s: the document gives no JSON 200 answer", path)
	}
	return resp.Value.Content.Get("application/json").Schema.Value
}

// schemaOf runs a command with --json and checks that its output is the
// answer of GET route as the OpenAPI document describes it; it returns
// the output decoded.
func schemaOf(t *testing.T, l *lathetest.Lathe, route string, args ...string) any {
	t.Helper()
	out := runCLI(t, l, args, "--json")
	doc := decode(t, out)
	if err := responseSchema(t, route).VisitJSON(doc); err != nil {
		t.Errorf("lathe %s --json does not match the schema of GET %s: %v\n%s", strings.Join(args, " "), route, err, out)
	}
	return doc
}

// checkSchema checks that out, a command's --json output, is the answer
// of GET route as the OpenAPI document describes it.
func checkSchema(t *testing.T, out, route string) {
	t.Helper()
	if err := responseSchema(t, route).VisitJSON(decode(t, out)); err != nil {
		t.Errorf("--json does not match the schema of GET %s: %v\n%s", route, err, out)
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}
