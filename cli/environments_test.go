package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// environmentRepo has a build and a deploy pipeline, as a release needs.
var environmentRepo = map[string]string{
	".lathe/build.yml": "name: build\non: {manual: {}}\njobs:\n  compile:\n    steps: [echo built]\n",
	".lathe/deploy.yml": `name: deploy
on: {manual: {}}
parameters:
  version: {type: string}
  environment: {type: string}
jobs:
  ship:
    steps: ['echo "deploying $PARAM_VERSION to $PARAM_ENVIRONMENT"']
`,
}

// environmentCLI runs one command line as the admin and returns its stdout, its
// stderr and its exit code.
func environmentCLI(l *lathetest.Lathe, args ...string) (string, string, int) {
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), append(args, "--server", l.URL, "--token", l.AdminToken), env)
	return stdout.String(), stderr.String(), code
}

// lathe environment creates, lists, shows, updates and deletes a
// project's environments, and shows and reports their deployments; each
// change is read back through the API.
func TestEnvironmentCommands(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, environmentRepo)
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	l.Project(t, "shop", repo)
	l.Project(t, "depot", repo)
	const base = "/api/v1/projects/shop/environments"
	getEnv := func(name string) lathe.Environment {
		t.Helper()
		var e lathe.Environment
		l.Do(t, http.MethodGet, base+"/"+name, nil, &e)
		return e
	}

	// create
	if out := runCLI(t, l, []string{"environment", "create", "shop", "staging", "--position", "1"}); out != "environment staging of shop created (position 1)\n" {
		t.Errorf("create printed %q", out)
	}
	runCLI(t, l, []string{"environment", "create", "shop", "production", "--position", "2", "--deploy-pipeline", "deploy",
		"--protected", "--approver", "user:admin", "--approver", "role:owner", "--second-person"})
	runCLI(t, l, []string{"environment", "create", "depot", "qa"})
	if e := getEnv("production"); e.Position != 2 || e.DeployPipeline != "deploy" || !e.Protected || !e.SecondPerson ||
		strings.Join(e.Approvers, ",") != "user:admin,role:owner" {
		t.Errorf("production after create = %+v", e)
	}
	if e := getEnv("staging"); e.Position != 1 || e.DeployPipeline != "" || e.Protected || e.SecondPerson || len(e.Approvers) != 0 {
		t.Errorf("staging after create = %+v", e)
	}
	if _, errOut, code := environmentCLI(l, "environment", "create", "shop", "canary", "--approver", "boss"); code != 1 ||
		!strings.Contains(errOut, `approvers: "boss" must be user:NAME, team:NAME or role:ROLE`) {
		t.Errorf("create with a bad approver: exit %d\n%s", code, errOut)
	}
	if _, _, code := environmentCLI(l, "environment", "create", "shop"); code != 2 {
		t.Errorf("create without NAME: exit %d, want 2", code)
	}

	// list and get
	list := runCLI(t, l, []string{"environment", "list", "shop"})
	want := regexp.MustCompile(`(?s)^NAME\s+POSITION\s+DEPLOY PIPELINE\s+PROTECTED\s+APPROVERS\s+SECOND PERSON\n` +
		`staging\s+1\s+-\s+false\s+-\s+false\n` +
		`production\s+2\s+deploy\s+true\s+user:admin,role:owner\s+true\n$`)
	if !want.MatchString(list) {
		t.Errorf("environment list shop:\n%s", list)
	}
	all := runCLI(t, l, []string{"environment", "list"})
	if !regexp.MustCompile(`(?m)^PROJECT\s+NAME\s+POSITION`).MatchString(all) || !regexp.MustCompile(`(?m)^depot\s+qa\s+0\s+-\s+false`).MatchString(all) ||
		!regexp.MustCompile(`(?m)^shop\s+production\s+2\s+deploy\s+true`).MatchString(all) {
		t.Errorf("environment list (every project):\n%s", all)
	}
	if got := runCLI(t, l, []string{"environment", "list", "--jq", ".items | length"}); strings.TrimSpace(got) != "3" {
		t.Errorf("environment list counts %s environments, want 3", got)
	}
	get := runCLI(t, l, []string{"environment", "get", "shop", "production"})
	if !regexp.MustCompile(`(?m)^production\s+2\s+deploy\s+true\s+user:admin,role:owner\s+true$`).MatchString(get) {
		t.Errorf("environment get:\n%s", get)
	}
	schemaOf(t, l, "/api/v1/projects/shop/environments", "environment", "list", "shop")
	schemaOf(t, l, "/api/v1/environments", "environment", "list")
	schemaOf(t, l, "/api/v1/projects/shop/environments/production", "environment", "get", "shop", "production")
	if _, errOut, code := environmentCLI(l, "environment", "get", "shop", "nowhere"); code != 1 || !strings.Contains(errOut, "server said 404") {
		t.Errorf("get of no environment: exit %d\n%s", code, errOut)
	}

	// update changes only what its flags give.
	if out := runCLI(t, l, []string{"environment", "update", "shop", "production", "--protected=false"}); out != "environment production of shop updated\n" {
		t.Errorf("update printed %q", out)
	}
	if e := getEnv("production"); e.Protected || !e.SecondPerson || e.Position != 2 || e.DeployPipeline != "deploy" ||
		strings.Join(e.Approvers, ",") != "user:admin,role:owner" {
		t.Errorf("production after update --protected=false = %+v; want only protected changed", e)
	}
	runCLI(t, l, []string{"team", "create", "ops"})
	runCLI(t, l, []string{"environment", "update", "shop", "production", "--approver", "team:ops", "--position", "5", "--protected"})
	if e := getEnv("production"); !e.Protected || e.Position != 5 || strings.Join(e.Approvers, ",") != "team:ops" || !e.SecondPerson {
		t.Errorf("production after update --approver team:ops = %+v; want the list replaced", e)
	}
	runCLI(t, l, []string{"environment", "update", "shop", "production", "--no-approvers", "--second-person=false", "--deploy-pipeline", ""})
	if e := getEnv("production"); len(e.Approvers) != 0 || e.SecondPerson || e.DeployPipeline != "" || !e.Protected || e.Position != 5 {
		t.Errorf("production after update --no-approvers = %+v", e)
	}
	before := getEnv("production")
	if _, errOut, code := environmentCLI(l, "environment", "update", "shop", "production"); code != 1 || !strings.Contains(errOut, "nothing to change") {
		t.Errorf("update with no flag: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := environmentCLI(l, "environment", "update", "shop", "production", "--position", "1001"); code != 1 || !strings.Contains(errOut, "position: 1001 must be from 0 to 1000") {
		t.Errorf("update --position 1001: exit %d\n%s", code, errOut)
	}
	if after := getEnv("production"); after.Position != before.Position || after.UpdatedAt != before.UpdatedAt {
		t.Errorf("a refused update changed the environment: %+v → %+v", before, after)
	}
	runCLI(t, l, []string{"environment", "update", "shop", "production", "--deploy-pipeline", "deploy", "--approver", "user:admin"})

	// report: an outside CD's deployment, visible through the API.
	l.Do(t, http.MethodPost, "/api/v1/projects/shop/releases/1.0-rc1", map[string]any{"commit": commit}, nil)
	out := runCLI(t, l, []string{"environment", "report", "shop", "staging", "1.0-rc1", "in_progress"})
	if !regexp.MustCompile(`^deployment \d+: 1.0-rc1 to staging, in_progress\n$`).MatchString(out) {
		t.Errorf("report printed %q", out)
	}
	id := strings.TrimSpace(runCLI(t, l, []string{"environment", "report", "shop", "staging", "1.0-rc1", "success", "-q"}))
	var hist lathe.Page[*lathe.Deployment]
	l.Do(t, http.MethodGet, base+"/staging/deployments", nil, &hist)
	if len(hist.Items) != 1 || fmt.Sprint(hist.Items[0].ID) != id || hist.Items[0].Status != "success" || hist.Items[0].Version != "1.0-rc1" ||
		hist.Items[0].Commit != commit || hist.Items[0].CreatedBy != "admin" {
		t.Errorf("staging's deployments after the reports = %+v (report -q printed %q)", hist.Items, id)
	}
	if _, errOut, code := environmentCLI(l, "environment", "report", "shop", "staging", "1.0-rc1", "done"); code != 1 || !strings.Contains(errOut, `must be one of pending, in_progress`) {
		t.Errorf("report of an unknown status: exit %d\n%s", code, errOut)
	}
	if _, _, code := environmentCLI(l, "environment", "report", "shop", "staging", "1.0-rc1"); code != 2 {
		t.Errorf("report without STATUS: exit %d, want 2", code)
	}

	// deployment: one deployment, with its status, version and commit.
	show := runCLI(t, l, []string{"environment", "deployment", "shop", "staging", id})
	for _, line := range []string{`deployment:\s+` + id, `status:\s+success`, `version:\s+1\.0-rc1`, `commit:\s+` + commit, `by:\s+admin`} {
		if !regexp.MustCompile(`(?m)^` + line + `$`).MatchString(show) {
			t.Errorf("environment deployment shows no %q:\n%s", line, show)
		}
	}
	schemaOf(t, l, "/api/v1/projects/shop/environments/staging/deployments/"+id, "environment", "deployment", "shop", "staging", id)
	if _, errOut, code := environmentCLI(l, "environment", "deployment", "shop", "staging", "x1"); code != 1 || !strings.Contains(errOut, `"x1" is not a deployment ID`) {
		t.Errorf("deployment x1: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := environmentCLI(l, "environment", "deployment", "shop", "production", id); code != 1 || !strings.Contains(errOut, "is not of environment production") {
		t.Errorf("a deployment of another environment: exit %d\n%s", code, errOut)
	}

	// A deployment to a protected environment meets its gate: who rejected
	// it, when, and what they said.
	var d lathe.Deployment
	l.Do(t, http.MethodPost, base+"/production/deployments", map[string]string{"release_candidate_version": "1.0-rc1"}, &d)
	if d.GateJobID == 0 {
		l.Do(t, http.MethodGet, fmt.Sprintf("%s/production/deployments/%d", base, d.ID), nil, &d)
	}
	gated := runCLI(t, l, []string{"environment", "deployment", "shop", "production", fmt.Sprint(d.ID)})
	if !regexp.MustCompile(`(?m)^gate:\s+waiting for approval$`).MatchString(gated) || !regexp.MustCompile(`(?m)^approvers:\s+admin$`).MatchString(gated) ||
		!regexp.MustCompile(`(?m)^run:\s+\d+$`).MatchString(gated) {
		t.Errorf("a deployment waiting at its gate:\n%s", gated)
	}
	if d.GateJobID == 0 {
		t.Fatalf("the deployment to a protected environment has no gate job: %+v", d)
	}
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/reject", d.GateJobID), map[string]string{"comment": "not during the freeze"}, nil)
	rejected := runCLI(t, l, []string{"environment", "deployment", "shop", "production", fmt.Sprint(d.ID)})
	for _, line := range []string{`status:\s+canceled`, `gate:\s+rejected by admin at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d`, `comment:\s+not during the freeze`} {
		if !regexp.MustCompile(`(?m)^` + line + `$`).MatchString(rejected) {
			t.Errorf("a rejected deployment shows no %q:\n%s", line, rejected)
		}
	}
	schemaOf(t, l, fmt.Sprintf("/api/v1/projects/shop/environments/production/deployments/%d", d.ID),
		"environment", "deployment", "shop", "production", fmt.Sprint(d.ID))

	// delete asks for --yes: it takes the deployment history with it.
	_, errOut, code := environmentCLI(l, "environment", "delete", "shop", "staging")
	if code != 1 || !strings.Contains(errOut, "deployment history") || !strings.Contains(errOut, "--yes") {
		t.Errorf("delete without --yes: exit %d\n%s", code, errOut)
	}
	if e := getEnv("staging"); e.Name != "staging" {
		t.Errorf("delete without --yes deleted staging: %+v", e)
	}
	l.Do(t, http.MethodGet, base+"/staging/deployments", nil, &hist)
	if len(hist.Items) != 1 {
		t.Errorf("delete without --yes changed staging's history: %+v", hist.Items)
	}
	if out := runCLI(t, l, []string{"environment", "delete", "shop", "staging", "--yes"}); !strings.Contains(out, "environment staging of shop deleted") {
		t.Errorf("delete --yes printed %q", out)
	}
	if err := l.Client.Do(context.Background(), http.MethodGet, base+"/staging", nil, nil); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("staging after delete --yes: %v; want 404", err)
	}
	if _, errOut, code := environmentCLI(l, "environment", "delete", "shop", "staging", "--yes"); code != 1 || !strings.Contains(errOut, "server said 404") {
		t.Errorf("delete of no environment: exit %d\n%s", code, errOut)
	}
	if _, _, code := environmentCLI(l, "environment", "delete", "shop", "--yes"); code != 2 {
		t.Errorf("delete without NAME: exit %d, want 2", code)
	}

	// The top-level commands stay as they were.
	if got := runCLI(t, l, []string{"environments", "shop"}); !regexp.MustCompile(`(?m)^ENVIRONMENT\s+VERSION\s+COMMIT\s+DEPLOYED$`).MatchString(got) {
		t.Errorf("lathe environments shop:\n%s", got)
	}
}

// lathe release deployments lists the deployments of a release's
// candidates; lathe release settings shows and sets the build pipeline.
func TestReleaseDeploymentsAndSettingsCommands(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, environmentRepo)
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	l.Project(t, "shop", repo)
	const base = "/api/v1/projects/shop"
	l.Do(t, http.MethodPost, base+"/releases/2.0-rc1", map[string]any{"commit": commit}, nil)
	l.Do(t, http.MethodPost, base+"/environments", map[string]any{"name": "staging", "position": 1}, nil)
	l.Do(t, http.MethodPost, base+"/environments", map[string]any{"name": "production", "position": 2}, nil)
	var first, second lathe.Deployment
	l.Do(t, http.MethodPatch, base+"/environments/staging/deployments", map[string]string{"release_candidate_version": "2.0-rc1", "status": "success"}, &first)
	l.Do(t, http.MethodPatch, base+"/environments/production/deployments", map[string]string{"release_candidate_version": "2.0-rc1", "status": "failure"}, &second)

	out := runCLI(t, l, []string{"release", "deployments", "shop", "2.0"})
	want := regexp.MustCompile(fmt.Sprintf(`(?s)^ID\s+ENVIRONMENT\s+VERSION\s+COMMIT\s+STATUS\s+RUN\s+BY\s+WHEN\n`+
		`%d\s+production\s+2\.0-rc1\s+%.12s\s+failure\s+-\s+admin\s+\S+ \S+\n`+
		`%d\s+staging\s+2\.0-rc1\s+%.12s\s+success\s+-\s+admin\s+\S+ \S+\n$`, second.ID, commit, first.ID, commit))
	if !want.MatchString(out) {
		t.Errorf("release deployments shop 2.0:\n%s", out)
	}
	if got := runCLI(t, l, []string{"release", "deployments", "shop", "2.0-rc1", "-q"}); got != fmt.Sprintf("%d\n%d\n", second.ID, first.ID) {
		t.Errorf("release deployments -q printed %q", got)
	}
	schemaOf(t, l, base+"/releases/2.0/deployments", "release", "deployments", "shop", "2.0")
	if _, errOut, code := environmentCLI(l, "release", "deployments", "shop", "9.9"); code != 1 || !strings.Contains(errOut, "server said 404") {
		t.Errorf("deployments of no release: exit %d\n%s", code, errOut)
	}
	if _, _, code := environmentCLI(l, "release", "deployments", "shop"); code != 2 {
		t.Errorf("release deployments without VERSION: exit %d, want 2", code)
	}

	// list: a page at a time, newest release first, each with its candidates.
	var newer lathe.Release
	l.Do(t, http.MethodPost, base+"/releases/2.1-rc1", map[string]any{"commit": commit}, &newer)
	l.Do(t, http.MethodPost, base+"/releases/2.1-rc2", map[string]any{"commit": commit}, nil)
	wantPage := regexp.MustCompile(fmt.Sprintf(`(?s)^CANDIDATE\s+STATUS\s+COMMIT\s+FINAL\s+BY\n2\.1-rc1\s+ready\s+%.12s\s+false\s+admin\n`+
		`2\.1-rc2\s+ready\s+%.12s\s+false\s+admin\nmore: add --before %d\n$`, commit, commit, newer.ID))
	if got := runCLI(t, l, []string{"release", "list", "shop", "--limit", "1"}); !wantPage.MatchString(got) {
		t.Errorf("release list --limit 1:\n%s", got)
	}
	if got := runCLI(t, l, []string{"release", "list", "shop", "--limit", "1", "--before", fmt.Sprint(newer.ID)}); !regexp.MustCompile(`(?s)\n2\.0-rc1\s.*admin\n$`).MatchString(got) || strings.Contains(got, "more:") {
		t.Errorf("release list --before %d:\n%s", newer.ID, got)
	}
	schemaOf(t, l, base+"/releases?limit=1", "release", "list", "shop", "--limit", "1")

	// settings: the default, then set.
	if got := runCLI(t, l, []string{"release", "settings", "shop"}); !regexp.MustCompile(`(?m)^build\s+- \(the default\)\s+-$`).MatchString(got) {
		t.Errorf("release settings (default):\n%s", got)
	}
	schemaOf(t, l, base+"/release-settings", "release", "settings", "shop")
	if got := runCLI(t, l, []string{"release", "settings", "shop", "--build-pipeline", "compile"}); got != "release settings of shop: build pipeline compile\n" {
		t.Errorf("release settings --build-pipeline printed %q", got)
	}
	var rs lathe.ReleaseSettings
	l.Do(t, http.MethodGet, base+"/release-settings", nil, &rs)
	if rs.BuildPipeline != "compile" || rs.UpdatedBy != "admin" || rs.UpdatedAt == nil {
		t.Errorf("release settings after set = %+v", rs)
	}
	if got := runCLI(t, l, []string{"release", "settings", "shop"}); !regexp.MustCompile(`(?m)^compile\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+admin$`).MatchString(got) {
		t.Errorf("release settings (set):\n%s", got)
	}
	if got := runCLI(t, l, []string{"release", "settings", "shop", "--build-pipeline", "build", "--json"}); !strings.Contains(got, `"build_pipeline": "build"`) {
		t.Errorf("release settings --build-pipeline --json printed:\n%s", got)
	}
	if _, errOut, code := environmentCLI(l, "release", "settings", "shop", "--build-pipeline", ""); code != 1 || !strings.Contains(errOut, "build_pipeline") {
		t.Errorf("release settings --build-pipeline '': exit %d\n%s", code, errOut)
	}
	l.Do(t, http.MethodGet, base+"/release-settings", nil, &rs)
	if rs.BuildPipeline != "build" {
		t.Errorf("a refused setting changed the build pipeline to %q", rs.BuildPipeline)
	}
}
