package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// cov2Run runs a command line against l as the admin with stdin, and
// returns its exit code, stdout and stderr.
func cov2Run(t *testing.T, l *lathetest.Lathe, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), append(append([]string{}, args...), "--server", l.URL, "--token", l.AdminToken), env)
	return code, stdout.String(), stderr.String()
}

// cov2Refused checks that a command line exits with code and says want on stderr.
func cov2Refused(t *testing.T, l *lathetest.Lathe, code int, want string, args ...string) {
	t.Helper()
	got, stdout, stderr := cov2Run(t, l, "", args...)
	if got != code || !strings.Contains(stderr, want) {
		t.Errorf("lathe %s: exit %d, stderr %q, stdout %q; want exit %d saying %q", strings.Join(args, " "), got, stderr, stdout, code, want)
	}
}

// cov2Row reports whether a table has a line whose cells match cells (regular
// expressions, in order, separated by the table's spaces).
func cov2Row(table string, cells ...string) bool {
	return regexp.MustCompile(`(?m)^` + strings.Join(cells, `\s+`) + `(\s|$)`).MatchString(table)
}

const cov2Pipeline = `
jobs:
  build:
    cache: {key: deps-v1, paths: [deps]}
    steps:
      - mkdir -p deps && echo dep > deps/x && echo built > out.txt
      - upload: {name: dist, paths: [out.txt]}
    artifacts: {paths: [out.txt]}
    reports:
      junit: ["reports/*.xml"]
`

const cov2JUnit = `<?xml version="1.0"?>
<testsuites><testsuite name="calc">
<testcase classname="calc" name="TestAdd" time="0.010"/>
<testcase classname="calc" name="TestSub" time="0.020"><failure message="sub broke">trace</failure></testcase>
</testsuite></testsuites>
`

// A job that runs through a real agent, with a cache, an upload, an
// artifact and a JUnit report, twice: lathe caches, test-case,
// artifacts history and uploads, and agents systems show what it left.
func TestCLICachesTestCasesArtifactsSystems(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": cov2Pipeline, "reports/junit.xml": cov2JUnit}))
	var runs []*lathe.Run
	for range 2 {
		r := l.Wait(t, l.Trigger(t, "shop", "", "").ID, 2*time.Minute)
		if r.Status != lathe.StatusSuccess {
			t.Fatalf("run %d: %s\n%s", r.ID, r.Status, l.Log(t, r.Jobs[0].ID))
		}
		runs = append(runs, r)
	}
	first, second := fmt.Sprint(runs[0].ID), fmt.Sprint(runs[1].ID)

	t.Run("caches", func(t *testing.T) {
		var caches struct {
			Items []*lathe.Cache `json:"items"`
		}
		l.Do(t, http.MethodGet, "/api/v1/projects/shop/caches", nil, &caches)
		if len(caches.Items) != 1 {
			t.Fatalf("the API lists %d caches, want the one build saved", len(caches.Items))
		}
		c := caches.Items[0]
		table := runCLI(t, l, []string{"caches", "shop"})
		if !cov2Row(table, "ID", "KEY", "SIZE", "SCOPE", "LAST USED", "CREATED") ||
			!cov2Row(table, fmt.Sprint(c.ID), "deps-v1", fmt.Sprint(c.Size), "trusted", regexp.QuoteMeta(c.LastUsedAt.Local().Format(time.DateTime))) {
			t.Errorf("lathe caches shop printed\n%s\nwant cache %d deps-v1 of %d bytes, trusted", table, c.ID, c.Size)
		}
		doc := schemaOf(t, l, "/api/v1/projects/shop/caches", "caches", "shop")
		if items := doc.(map[string]any)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["key"] != "deps-v1" {
			t.Errorf("lathe caches --json: %v", doc)
		}
		if got := runCLI(t, l, []string{"caches", "shop", "-q"}); got != fmt.Sprintf("%d\n", c.ID) {
			t.Errorf("lathe caches -q printed %q, want the cache's ID", got)
		}
		cov2Refused(t, l, 2, "Usage:", "caches")
		cov2Refused(t, l, 1, "nope", "caches", "nope")
	})

	// The test case's ID is in lathe tests' table and --json.
	var tests lathe.RunTests
	if err := json.Unmarshal([]byte(runCLI(t, l, []string{"tests", second, "--json"})), &tests); err != nil {
		t.Fatal(err)
	}
	var sub *lathe.TestResult
	for _, r := range tests.Items {
		if r.Name == "TestSub" {
			sub = r
		}
	}
	if sub == nil || sub.ID == 0 {
		t.Fatalf("lathe tests --json shows no test case ID for TestSub: %+v", tests.Items)
	}
	tc := fmt.Sprint(sub.ID)
	if table := runCLI(t, l, []string{"tests", second}); !cov2Row(table, tc, "build", "calc", "TestSub", "failed") {
		t.Errorf("lathe tests %s shows no CASE %s for TestSub:\n%s", second, tc, table)
	}

	t.Run("test-case", func(t *testing.T) {
		hist := runCLI(t, l, []string{"test-case", "history", tc})
		if !strings.HasPrefix(hist, "test case "+tc+": calc TestSub (job build of pipeline ") ||
			!cov2Row(hist, "RUN", "BRANCH", "COMMIT", "STATUS", "CHANGE", "INSTABILITY", "MS", "MESSAGE") ||
			!cov2Row(hist, second, "main", runs[1].Commit[:12], "failed", "same", "0", "20", "sub broke") ||
			!cov2Row(hist, first, "main", runs[0].Commit[:12], "failed", "new", "0", "20", "sub broke") ||
			strings.Index(hist, "\n"+second+" ") > strings.Index(hist, "\n"+first+" ") {
			t.Errorf("lathe test-case history %s printed\n%s\nwant runs %s then %s, failed, 20 ms, sub broke", tc, hist, second, first)
		}
		route := "/api/v1/test-cases/" + tc + "/history"
		doc := schemaOf(t, l, route, "test-case", "history", tc)
		if items := doc.(map[string]any)["items"].([]any); len(items) != 2 {
			t.Errorf("lathe test-case history --json: %d results, want 2", len(items))
		}
		if got := runCLI(t, l, []string{"test-case", "history", tc, "--branch", "other", "--jq", ".items | length"}); got != "0\n" {
			t.Errorf("history --branch other: %q results, want none", got)
		}
		if got := runCLI(t, l, []string{"test-case", "history", tc, "--limit", "1"}); !strings.Contains(got, "more: --before ") {
			t.Errorf("history --limit 1 names no next page:\n%s", got)
		}

		// A comment, read back through the API.
		out := runCLI(t, l, []string{"test-case", "comment", tc, "flaky on arm", "--state", "investigating"})
		var comments struct {
			Items []*lathe.TestComment `json:"items"`
		}
		l.Do(t, http.MethodGet, "/api/v1/test-cases/"+tc+"/comments", nil, &comments)
		if len(comments.Items) != 1 {
			t.Fatalf("after lathe test-case comment the API lists %d comments", len(comments.Items))
		}
		c := comments.Items[0]
		if c.Text != "flaky on arm" || c.State != "investigating" || c.Author != "admin" {
			t.Errorf("comment = %+v; want admin's investigating \"flaky on arm\"", c)
		}
		if want := fmt.Sprintf("comment %d on test case %s: investigating\n", c.ID, tc); out != want {
			t.Errorf("lathe test-case comment printed %q, want %q", out, want)
		}
		runCLI(t, l, []string{"test-case", "comment", tc, "a second\nline"})
		table := runCLI(t, l, []string{"test-case", "comments", tc})
		if !cov2Row(table, "ID", "STATE", "AUTHOR", "CREATED", "TEXT") ||
			!cov2Row(table, fmt.Sprint(c.ID), "investigating", "admin", `\S+ \S+`, "flaky on arm") ||
			!cov2Row(table, `\d+`, "open", "admin", `\S+ \S+`, `a second\\nline`) {
			t.Errorf("lathe test-case comments printed\n%s", table)
		}
		doc = schemaOf(t, l, "/api/v1/test-cases/"+tc+"/comments", "test-case", "comments", tc)
		if items := doc.(map[string]any)["items"].([]any); len(items) != 2 || items[0].(map[string]any)["text"] != "a second\nline" {
			t.Errorf("lathe test-case comments --json: %v", doc)
		}

		cov2Refused(t, l, 2, "Usage:", "test-case", "history")
		cov2Refused(t, l, 2, "Usage:", "test-case", "comment", tc)
		cov2Refused(t, l, 1, `"abc" is not a test case ID`, "test-case", "comments", "abc")
		cov2Refused(t, l, 1, `state: "bogus" is not one of`, "test-case", "comment", tc, "x", "--state", "bogus")
		cov2Refused(t, l, 1, "text: required", "test-case", "comment", tc, " ")
		cov2Refused(t, l, 1, "999999", "test-case", "history", "999999")
	})

	t.Run("artifacts", func(t *testing.T) {
		var page lathe.Page[*lathe.Artifact]
		l.Do(t, http.MethodGet, "/api/v1/projects/shop/artifacts?branch=main&path=out.txt", nil, &page)
		if len(page.Items) != 2 {
			t.Fatalf("the API lists %d artifacts of out.txt on main, want 2", len(page.Items))
		}
		table := runCLI(t, l, []string{"artifacts", "history", "shop", "--branch", "main", "--path", "out.txt"})
		if !cov2Row(table, "ID", "RUN", "BRANCH", "PIPELINE", "JOB", "PATH", "SIZE", "CREATED", "EXPIRES") ||
			!cov2Row(table, fmt.Sprint(page.Items[0].ID), second, "main", runs[1].Pipeline, "build", "out.txt", "6") ||
			!cov2Row(table, fmt.Sprint(page.Items[1].ID), first, "main", runs[0].Pipeline, "build", "out.txt", "6") ||
			strings.Index(table, "\n"+fmt.Sprint(page.Items[0].ID)+" ") > strings.Index(table, "\n"+fmt.Sprint(page.Items[1].ID)+" ") {
			t.Errorf("lathe artifacts history printed\n%s\nwant run %s's out.txt then run %s's", table, second, first)
		}
		schemaOf(t, l, "/api/v1/projects/shop/artifacts", "artifacts", "history", "shop", "--branch", "main")
		if got := runCLI(t, l, []string{"artifacts", "history", "shop", "-q", "--limit", "1"}); got != fmt.Sprintf("%d\n", page.Items[0].ID) {
			t.Errorf("artifacts history -q --limit 1 printed %q, want the newest artifact's ID", got)
		}
		if got := runCLI(t, l, []string{"artifacts", "history", "shop", "--branch", "other", "--jq", ".items | length"}); got != "0\n" {
			t.Errorf("artifacts history --branch other: %q, want none", got)
		}
		if got := runCLI(t, l, []string{"artifacts", "history", "shop", "--path", "nothing.txt", "--jq", ".items | length"}); got != "0\n" {
			t.Errorf("artifacts history --path nothing.txt: %q, want none", got)
		}

		var uploads struct {
			Items []*lathe.Upload `json:"items"`
		}
		l.Do(t, http.MethodGet, "/api/v1/runs/"+first+"/uploads", nil, &uploads)
		if len(uploads.Items) != 1 {
			t.Fatalf("the API lists %d uploads of run %s, want 1", len(uploads.Items), first)
		}
		u := uploads.Items[0]
		table = runCLI(t, l, []string{"artifacts", "uploads", first})
		if !cov2Row(table, "NAME", "JOB", "ATTEMPT", "SIZE", "SHA256", "CREATED") ||
			!cov2Row(table, "dist", "build", "1", fmt.Sprint(u.Size), u.SHA256[:12]) {
			t.Errorf("lathe artifacts uploads printed\n%s\nwant dist of build, %d bytes", table, u.Size)
		}
		schemaOf(t, l, "/api/v1/runs/"+first+"/uploads", "artifacts", "uploads", first)
		if got := runCLI(t, l, []string{"artifacts", "uploads", first, "-q"}); got != "dist\n" {
			t.Errorf("artifacts uploads -q printed %q, want the upload's name", got)
		}
		cov2Refused(t, l, 2, "Usage:", "artifacts", "history")
		cov2Refused(t, l, 1, `"x" is not a run ID`, "artifacts", "uploads", "x")
		cov2Refused(t, l, 1, "999999", "artifacts", "uploads", "999999")
		cov2Refused(t, l, 1, "nope", "artifacts", "history", "nope")
	})

	t.Run("systems", func(t *testing.T) {
		var systems struct {
			Systems []*lathe.System `json:"systems"`
		}
		l.Do(t, http.MethodGet, "/api/v1/systems", nil, &systems)
		if len(systems.Systems) != 1 || systems.Systems[0].Executor != "host" || systems.Systems[0].Jobs != 2 || systems.Systems[0].Attempts != 2 {
			t.Fatalf("the API's systems: %+v; want host, 2 jobs, 2 attempts", systems.Systems)
		}
		table := runCLI(t, l, []string{"agents", "systems"})
		if !cov2Row(table, "EXECUTOR", "IMAGE", "JOBS", "ATTEMPTS", "LAST USED") ||
			!cov2Row(table, "host", "-", "2", "2", regexp.QuoteMeta(systems.Systems[0].LastUsed.Local().Format(time.DateTime))) {
			t.Errorf("lathe agents systems printed\n%s", table)
		}
		schemaOf(t, l, "/api/v1/systems", "agents", "systems")
		cov2Refused(t, l, 2, "Usage:", "agents", "systems", "extra")
	})
}

// lathe agents groups instances lists what a group's provider started: here
// a command provider that cannot start anything, so its instance failed,
// saying why.
func TestCLIAgentGroupInstances(t *testing.T) {
	script := filepath.Join(t.TempDir(), "provider.sh")
	if err := os.WriteFile(script, []byte(`#!/bin/sh
cat >/dev/null
case "$1" in
start) echo "no capacity left in the test cloud" >&2; exit 1 ;;
list) echo '{"instances":[]}' ;;
*) echo '{}' ;;
esac
`), 0o755); err != nil {
		t.Fatal(err)
	}
	l := lathetest.Start(t, lathetest.Options{Agents: -1, ProvisionInterval: 100 * time.Millisecond})
	l.Do(t, http.MethodPost, "/api/v1/agent-groups", map[string]any{"name": "cloud",
		"provider": map[string]any{"kind": "command", "command": script, "labels": []string{"ondemand"}, "min": 1, "max": 1, "idle_timeout_sec": 60}}, nil)
	l.Do(t, http.MethodPost, "/api/v1/agent-groups", map[string]any{"name": "plain"}, nil)
	var list struct {
		Items []*lathe.AgentInstance `json:"items"`
	}
	waitFor(t, "the provider's instance to fail", 30*time.Second, func() bool {
		l.Do(t, http.MethodGet, "/api/v1/agent-groups/cloud/instances", nil, &list)
		return len(list.Items) == 1 && list.Items[0].State == lathe.InstanceFailed
	})
	in := list.Items[0]
	table := runCLI(t, l, []string{"agents", "groups", "instances", "cloud"})
	if !cov2Row(table, "ID", "NAME", "STATE", "HANDLE", "JOB", "RAN", "IDLE SINCE", "CREATED", "ERROR") ||
		!cov2Row(table, fmt.Sprint(in.ID), regexp.QuoteMeta(in.Name), "failed", "-", "-", "0", "-", `\S+ \S+`, ".*no capacity left in the test cloud") {
		t.Errorf("lathe agents groups instances cloud printed\n%s\nwant instance %d %s failed, saying why", table, in.ID, in.Name)
	}
	doc := schemaOf(t, l, "/api/v1/agent-groups/cloud/instances", "agents", "groups", "instances", "cloud")
	if items := doc.(map[string]any)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["state"] != "failed" {
		t.Errorf("instances --json: %v", doc)
	}
	if got := runCLI(t, l, []string{"agents", "groups", "instances", "cloud", "-q"}); got != fmt.Sprintf("%d\n", in.ID) {
		t.Errorf("instances -q printed %q, want the instance's ID", got)
	}
	if got := runCLI(t, l, []string{"agents", "groups", "instances", "plain", "--jq", ".items | length"}); got != "0\n" {
		t.Errorf("a group without a provider has instances: %q", got)
	}
	cov2Refused(t, l, 2, "Usage:", "agents", "groups", "instances")
	cov2Refused(t, l, 1, "nope", "agents", "groups", "instances", "nope")
}

// lathe user update renames a user and sets its email; lathe user
// reset-password sets its password (read from stdin here, as from a
// terminal without echo), ending its sessions and with --revoke-tokens
// its tokens; lathe user delete disables it.
func TestCLIUserUpdateAndResetPassword(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	ctx := context.Background()
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "erin", "password": "erin-password"}, nil)
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "robot", "service": true}, nil)
	login := func(name, pw string) error {
		return l.ClientAs(t, "").Do(ctx, http.MethodPost, "/api/v1/sessions", map[string]string{"username": name, "password": pw}, nil)
	}

	out := runCLI(t, l, []string{"user", "update", "erin", "--name", "erin2", "--email", "erin@example.com"})
	if out != "user erin2 <erin@example.com> (admin false, service false, disabled false)\n" {
		t.Errorf("lathe user update printed %q", out)
	}
	var u lathe.User
	l.Do(t, http.MethodGet, "/api/v1/users/erin2", nil, &u)
	if u.Email != "erin@example.com" {
		t.Errorf("after update erin2's email is %q", u.Email)
	}
	if err := l.Client.Do(ctx, http.MethodGet, "/api/v1/users/erin", nil, nil); err == nil {
		t.Error("the old name erin is still a user")
	}
	if err := login("erin2", "erin-password"); err != nil {
		t.Errorf("the renamed user cannot log in with its password: %v", err)
	}
	runCLI(t, l, []string{"user", "update", "erin2", "--email", ""})
	l.Do(t, http.MethodGet, "/api/v1/users/erin2", nil, &u)
	if u.Email != "" || u.Name != "erin2" {
		t.Errorf("after --email '': %+v; want erin2 with no email", u)
	}
	cov2Refused(t, l, 1, "admin", "user", "update", "erin2", "--name", "admin")
	cov2Refused(t, l, 1, "email", "user", "update", "erin2", "--email", "not an address")

	// Reset: the new password works, the old does not; a token survives
	// unless --revoke-tokens.
	var tok lathe.APIToken
	l.Do(t, http.MethodPost, "/api/v1/users/erin2/tokens", map[string]any{"name": "ci"}, &tok)
	out = runCLIStdin(t, l, "new-password-1\n", []string{"user", "reset-password", "erin2"})
	if out != "password of erin2 reset; their login sessions are ended (--revoke-tokens also revokes their API tokens)\n" {
		t.Errorf("lathe user reset-password printed %q", out)
	}
	if strings.Contains(out, "new-password-1") {
		t.Error("reset-password printed the password")
	}
	if err := login("erin2", "new-password-1"); err != nil {
		t.Errorf("the new password does not log in: %v", err)
	}
	if err := login("erin2", "erin-password"); err == nil {
		t.Error("the old password still logs in")
	}
	if err := l.ClientAs(t, tok.Token).Do(ctx, http.MethodGet, "/api/v1/users/me", nil, nil); err != nil {
		t.Errorf("the user's token stopped working without --revoke-tokens: %v", err)
	}
	out = runCLIStdin(t, l, "new-password-2\n", []string{"user", "reset-password", "erin2", "--revoke-tokens"})
	if !strings.Contains(out, "API tokens revoked") {
		t.Errorf("reset-password --revoke-tokens printed %q", out)
	}
	if err := l.ClientAs(t, tok.Token).Do(ctx, http.MethodGet, "/api/v1/users/me", nil, nil); err == nil {
		t.Error("the user's token still works after --revoke-tokens")
	}
	if err := login("erin2", "new-password-2"); err != nil {
		t.Errorf("the second new password does not log in: %v", err)
	}

	code, _, stderr := cov2Run(t, l, "short\n", "user", "reset-password", "erin2")
	if code != 1 || !strings.Contains(stderr, "at least") {
		t.Errorf("a short password: exit %d, %q; want 1 with the server's rule", code, stderr)
	}
	code, _, stderr = cov2Run(t, l, "robot-password\n", "user", "reset-password", "robot")
	if code != 1 || !strings.Contains(stderr, "service account") {
		t.Errorf("a service account's password: exit %d, %q; want 1, refused", code, stderr)
	}
	cov2Refused(t, l, 2, "Usage:", "user", "reset-password")

	// Delete disables: the user is kept, and logs in no more.
	out = runCLI(t, l, []string{"user", "delete", "erin2"})
	if out != "user erin2 disabled: its sessions and tokens stop working (lathe user update erin2 --disabled=false enables it again)\n" {
		t.Errorf("lathe user delete printed %q", out)
	}
	l.Do(t, http.MethodGet, "/api/v1/users/erin2", nil, &u)
	if !u.Disabled {
		t.Errorf("after lathe user delete erin2 is %+v; want disabled", u)
	}
	if err := login("erin2", "new-password-2"); err == nil {
		t.Error("a deleted (disabled) user still logs in")
	}
	cov2Refused(t, l, 1, "nope", "user", "delete", "nope")
	cov2Refused(t, l, 2, "Usage:", "user", "delete")
}

// lathe approve --run approves the commit of a fork's pull request's run:
// its job leaves the trust gate; a run that no longer waits is refused.
func TestCLIApproveUntrustedRun(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "oss", lathetest.Repo(t, map[string]string{".lathe/pr.yml": "on:\n  pull_request: {branches: [main]}\njobs:\n  test:\n    steps: [echo hi]\n"}))
	var tok lathe.HookToken
	l.Do(t, http.MethodPost, "/api/v1/projects/oss/hook-tokens", map[string]string{"name": "forge"}, &tok)
	var started struct{ Items []*lathe.Run }
	pr := map[string]any{"ref": "main", "event": "pull_request", "base": "main", "fork": true}
	if err := l.ClientAs(t, "").Do(context.Background(), http.MethodPost, "/api/v1/hooks/"+tok.Token, pr, &started); err != nil || len(started.Items) != 1 {
		t.Fatalf("fork pull request: %v, %d runs", err, len(started.Items))
	}
	run := started.Items[0]
	waitFor(t, "the untrusted job to wait", 30*time.Second, func() bool {
		return lathetest.JobByName(t, l.Run(t, run.ID), "test").Status == lathe.StatusWaiting
	})
	if !l.Run(t, run.ID).Untrusted {
		t.Fatal("the fork's run is trusted")
	}
	r := fmt.Sprint(run.ID)
	cov2Refused(t, l, 2, "Usage:", "approve", "--run", r, "test")
	cov2Refused(t, l, 1, "0 is not a run ID", "approve", "--run", "0")

	out := runCLI(t, l, []string{"approve", "--run", r})
	if want := fmt.Sprintf("run %s: commit %.12s of oss approved; its jobs go on (untrusted: no secrets)\n", r, run.Commit); out != want {
		t.Errorf("lathe approve --run printed %q, want %q", out, want)
	}
	if j := lathetest.JobByName(t, l.Run(t, run.ID), "test"); j.Status != lathe.StatusQueued {
		t.Errorf("after lathe approve --run the job is %s, want queued", j.Status)
	}
	cov2Refused(t, l, 1, "does not wait for its commit to be approved", "approve", "--run", r)
	cov2Refused(t, l, 1, "999999", "approve", "--run", "999999")
}
