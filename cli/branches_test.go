package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// branchCLIAs runs one command line as the holder of token and returns its exit
// code, stdout and stderr.
func branchCLIAs(l *lathetest.Lathe, token string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), append(append([]string{}, args...), "--server", l.URL, "--token", token), env)
	return code, stdout.String(), stderr.String()
}

// branchRefused runs a command line that must exit with code, saying what
// the error output must hold.
func branchRefused(t *testing.T, l *lathetest.Lathe, code int, says string, args ...string) {
	t.Helper()
	got, stdout, stderr := branchCLIAs(l, l.AdminToken, args...)
	if got != code || !strings.Contains(stderr, says) {
		t.Errorf("lathe %s: exit %d, want %d saying %q\n%s%s", strings.Join(args, " "), got, code, says, stdout, stderr)
	}
}

// lathe branch lists the branches runs showed the server, shows one (a
// slash in its name escaped), sets its env and retention (each read back
// through the API) and forgets it, keeping its runs.
func TestCLIBranchCommands(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n"})
	lathetest.Git(t, repo, "checkout", "-q", "-b", "release/1.x")
	relHead := lathetest.Commit(t, repo, map[string]string{"VERSION": "1.0\n"})
	lathetest.Git(t, repo, "checkout", "-q", "main")
	l.Project(t, "shop", repo)
	mainRun := l.Trigger(t, "shop", "", "")
	relRun := l.Trigger(t, "shop", "release/1.x", "")

	list := runCLI(t, l, []string{"branch", "list", "shop"})
	for name, head := range map[string]string{"main": mainRun.Commit, "release/1.x": relHead} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s+` + head[:12] + `\s+\S+ \S+\s+-\s+default\s+default$`).MatchString(list) {
			t.Errorf("branch list shows no %s at %.12s with no settings:\n%s", name, head, list)
		}
	}
	if got := runCLI(t, l, []string{"branch", "list", "shop", "-q"}); got != "release/1.x\nmain\n" && got != "main\nrelease/1.x\n" {
		t.Errorf("branch list -q printed %q, want the two names", got)
	}
	if got := runCLI(t, l, []string{"branch", "list", "shop", "--limit", "1"}); !regexp.MustCompile(`(?m)^more: add --before \d+$`).MatchString(got) {
		t.Errorf("branch list --limit 1 names no next page:\n%s", got)
	}
	schemaOf(t, l, "/api/v1/projects/shop/branches?limit=20", "branch", "list", "shop")
	schemaOf(t, l, "/api/v1/projects/shop/branches/main", "branch", "get", "shop", "release/1.x")

	get := runCLI(t, l, []string{"branch", "get", "shop", "release/1.x"})
	for _, want := range []string{"release/1.x of shop", "head:", relHead, "env:", "keep runs:", "server default",
		"retention (days):", "CI logs forever", "runs:", "queued 1"} {
		if !strings.Contains(get, want) {
			t.Errorf("branch get shows no %q:\n%s", want, get)
		}
	}
	if !regexp.MustCompile(`(?m)^main\s+` + fmt.Sprint(relRun.ID) + `\s+\d+\s+queued\s+` + relHead[:12] + `\s+manual\s`).MatchString(get) {
		t.Errorf("branch get shows no last run %d of main:\n%s", relRun.ID, get)
	}

	// Env and retention, only what was given; read back through the API.
	branch := func() *lathe.Branch {
		var b lathe.Branch
		l.Do(t, http.MethodGet, "/api/v1/projects/shop/branches/release%2F1.x", nil, &b)
		return &b
	}
	out := runCLI(t, l, []string{"branch", "update", "shop", "release/1.x", "--env", "TARGET=staging", "--env", "GREETING=a=b, c",
		"--keep-runs", "50", "--ci-logs", "30"})
	if out != "branch release/1.x of shop updated: env, keep runs, ci logs\n" {
		t.Errorf("branch update printed %q", out)
	}
	b := branch()
	wantEnv := []lathe.EnvVar{{Name: "TARGET", Value: "staging"}, {Name: "GREETING", Value: "a=b, c"}}
	if fmt.Sprint(b.Settings.Env) != fmt.Sprint(wantEnv) || b.Settings.KeepRuns == nil || *b.Settings.KeepRuns != 50 ||
		b.Settings.Retention.CILogs == nil || *b.Settings.Retention.CILogs != 30 || b.Settings.KeepDays != nil || b.Settings.Retention.ManualLogs != nil {
		t.Errorf("settings after update = %+v", b.Settings)
	}
	runCLI(t, l, []string{"branch", "update", "shop", "release/1.x", "--keep-runs", "0", "--keep-days", "9", "--manual-artifacts", "7"})
	b = branch()
	if len(b.Settings.Env) != 2 || b.Settings.KeepRuns != nil || b.Settings.KeepDays == nil || *b.Settings.KeepDays != 9 ||
		b.Settings.Retention.CILogs == nil || b.Settings.Retention.ManualArtifacts == nil || *b.Settings.Retention.ManualArtifacts != 7 {
		t.Errorf("settings after the second update = %+v; want env and ci logs kept, keep runs back to the default", b.Settings)
	}
	if got := runCLI(t, l, []string{"branch", "list", "shop"}); !regexp.MustCompile(`(?m)^release/1\.x\s.*\sTARGET,GREETING\s+default\s+9$`).MatchString(got) {
		t.Errorf("branch list after updates:\n%s", got)
	}
	if got := runCLI(t, l, []string{"branch", "get", "shop", "release/1.x"}); !strings.Contains(got, "TARGET=staging") || !strings.Contains(got, "manual artifacts 7") {
		t.Errorf("branch get after updates:\n%s", got)
	}
	var answered lathe.Branch
	if err := jsonOf(runCLI(t, l, []string{"branch", "update", "shop", "release/1.x", "--clear-env", "--json"}), &answered); err != nil || answered.Name != "release/1.x" {
		t.Errorf("branch update --json: %v %+v", err, answered)
	}
	if b := branch(); len(b.Settings.Env) != 0 || b.Settings.KeepDays == nil {
		t.Errorf("settings after --clear-env = %+v", b.Settings)
	}
	events := runCLI(t, l, []string{"events", "--project", "shop", "--type", "branch.updated"})
	if !regexp.MustCompile(`(?m)^\S+ \S+\s+admin\s+branch\.updated\s+shop branch release/1\.x\s+env=\["TARGET","GREETING"\] keep_days=null keep_runs=50 `).MatchString(events) {
		t.Errorf("events shows no update of release/1.x's env:\n%s", events)
	}

	// Bad input: refused, nothing changes.
	branchRefused(t, l, 1, "nothing to change", "branch", "update", "shop", "release/1.x")
	branchRefused(t, l, 1, "LATHE_ variables are set by the server", "branch", "update", "shop", "release/1.x", "--env", "LATHE_X=1")
	branchRefused(t, l, 1, `--env "NOVALUE": want NAME=VALUE`, "branch", "update", "shop", "release/1.x", "--env", "NOVALUE")
	branchRefused(t, l, 1, "give one", "branch", "update", "shop", "release/1.x", "--env", "A=1", "--clear-env")
	branchRefused(t, l, 1, "from 1 to 1000000", "branch", "update", "shop", "release/1.x", "--keep-runs", "-3")
	branchRefused(t, l, 1, "not found", "branch", "get", "shop", "nosuch")
	branchRefused(t, l, 2, "Usage:", "branch", "get", "shop")
	if b := branch(); len(b.Settings.Env) != 0 || b.Settings.KeepDays == nil || *b.Settings.KeepDays != 9 {
		t.Errorf("settings after refused updates = %+v", b.Settings)
	}

	if out := runCLI(t, l, []string{"branch", "delete", "shop", "release/1.x"}); out != "branch release/1.x of shop forgotten (its runs stay)\n" {
		t.Errorf("branch delete printed %q", out)
	}
	if err := l.Client.Do(context.Background(), http.MethodGet, "/api/v1/projects/shop/branches/release%2F1.x", nil, nil); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("the deleted branch is still there: %v", err)
	}
	if r := l.Run(t, relRun.ID); r.ID != relRun.ID {
		t.Errorf("the deleted branch's run is gone")
	}
}

// lathe schedule lists a project's cron schedules and pauses and resumes
// one (read back through the API); lathe events shows the pause; lathe
// config-errors shows a broken pipeline file's problem with its line.
func TestCLIScheduleEventsAndConfigErrors(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1, ScheduleInterval: 100 * time.Millisecond})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{
		".lathe/nightly.yml": "on:\n  schedule: [{cron: '0 3 1 1 *'}]\n  manual: {}\njobs:\n  n:\n    steps: [true]\n",
		".lathe/soak.yml":    "on:\n  schedule: [{cron: '30 4 1 1 *', branch: release/1.x}]\njobs:\n  s:\n    steps: [true]\n",
	}))
	schedules := func() map[string]*lathe.Schedule {
		var list struct{ Items []*lathe.Schedule }
		l.Do(t, http.MethodGet, "/api/v1/projects/shop/schedules", nil, &list)
		m := map[string]*lathe.Schedule{}
		for _, sc := range list.Items {
			m[sc.Pipeline] = sc
		}
		return m
	}
	waitFor(t, "the schedules to be read", 30*time.Second, func() bool { return len(schedules()) == 2 })
	soak := schedules()["soak"]
	id := fmt.Sprint(soak.ID)

	list := runCLI(t, l, []string{"schedule", "list", "shop"})
	if !regexp.MustCompile(`(?m)^` + id + `\s+soak\s+release/1\.x\s+30 4 1 1 \*\s+` + regexp.QuoteMeta(soak.NextAt.UTC().Format("2006-01-02 15:04:05")) + `\s+never\s+false$`).MatchString(list) {
		t.Errorf("schedule list shows no soak %s on release/1.x next at %s:\n%s", id, soak.NextAt.UTC(), list)
	}
	if !strings.Contains(list, "NEXT (UTC)") || !regexp.MustCompile(`(?m)^\d+\s+nightly\s+main\s+0 3 1 1 \*\s`).MatchString(list) {
		t.Errorf("schedule list:\n%s", list)
	}
	schemaOf(t, l, "/api/v1/projects/shop/schedules", "schedule", "list", "shop")
	if got := runCLI(t, l, []string{"schedule", "list", "shop", "-q"}); len(strings.Fields(got)) != 2 || !strings.Contains(got, id+"\n") {
		t.Errorf("schedule list -q printed %q", got)
	}

	if out := runCLI(t, l, []string{"schedule", "pause", "shop", id}); out != "schedule "+id+" of shop (soak, 30 4 1 1 *) paused\n" {
		t.Errorf("schedule pause printed %q", out)
	}
	if all := schedules(); !all["soak"].Paused || all["nightly"].Paused {
		t.Errorf("after pause: soak paused %t, nightly paused %t", all["soak"].Paused, all["nightly"].Paused)
	}
	if got := runCLI(t, l, []string{"schedule", "list", "shop"}); !regexp.MustCompile(`(?m)^` + id + `\s+soak\s.*\strue$`).MatchString(got) {
		t.Errorf("schedule list shows soak not paused:\n%s", got)
	}
	var resumed lathe.Schedule
	if err := jsonOf(runCLI(t, l, []string{"schedule", "resume", "shop", id, "--json"}), &resumed); err != nil || resumed.ID != soak.ID || resumed.Paused {
		t.Errorf("schedule resume --json: %v %+v", err, resumed)
	}
	if schedules()["soak"].Paused {
		t.Error("soak is still paused after resume")
	}
	branchRefused(t, l, 1, `"soon" is not a schedule ID`, "schedule", "pause", "shop", "soon")
	branchRefused(t, l, 1, "not found", "schedule", "pause", "shop", "999999")
	branchRefused(t, l, 2, "Usage:", "schedule", "resume", "shop")

	// The audit log: the pause, by its project or by its action.
	events := runCLI(t, l, []string{"events", "--project", "shop"})
	pause := regexp.MustCompile(`(?m)^\S+ \S+\s+admin\s+schedule\.paused\s+shop schedule ` + id + `\s+cron="30 4 1 1 \*" pipeline=soak$`)
	if !pause.MatchString(events) || !strings.Contains(events, "schedule.resumed") {
		t.Errorf("events --project shows no pause and resume of schedule %s:\n%s", id, events)
	}
	if got := runCLI(t, l, []string{"events", "--type", "schedule.paused"}); !pause.MatchString(got) || strings.Contains(got, "schedule.resumed") {
		t.Errorf("events --type schedule.paused:\n%s", got)
	}
	if got := runCLI(t, l, []string{"events", "--type", "schedule.resumed", "-q"}); len(strings.Fields(got)) != 1 {
		t.Errorf("events --type schedule.resumed -q printed %q, want one ID", got)
	}
	if got := runCLI(t, l, []string{"events", "--limit", "1"}); !regexp.MustCompile(`(?m)^more: add --before \d+$`).MatchString(got) {
		t.Errorf("events --limit 1 names no next page:\n%s", got)
	}
	schemaOf(t, l, "/api/v1/events?limit=50", "events")
	schemaOf(t, l, "/api/v1/projects/shop/events?limit=50", "events", "--project", "shop")
	var tok lathe.APIToken
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "dee", "password": "dee-password"}, nil)
	l.Do(t, http.MethodPost, "/api/v1/users/dee/tokens", map[string]any{"name": "cli"}, &tok)
	if code, _, stderr := branchCLIAs(l, tok.Token, "events"); code != 1 || !strings.Contains(stderr, "admin") {
		t.Errorf("events as a user who is no admin: exit %d\n%s", code, stderr)
	}
	branchRefused(t, l, 1, "nosuch", "events", "--project", "nosuch")
	branchRefused(t, l, 2, "Usage:", "events", "shop")

	// A broken pipeline file: the trigger fails, the problem stays.
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n"})
	l.Project(t, "cfg", repo)
	if got := runCLI(t, l, []string{"config-errors", "cfg"}); got != "no pipeline configuration problems in cfg\n" {
		t.Errorf("config-errors of a clean project printed %q", got)
	}
	head := lathetest.Commit(t, repo, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n    neds: [b]\n"})
	if err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/cfg/runs", map[string]string{}, nil); err == nil {
		t.Fatal("a broken pipeline file started a run")
	}
	out := runCLI(t, l, []string{"config-errors", "cfg"})
	if !strings.HasPrefix(out, "branch main at "+head[:12]+" (read ") ||
		!regexp.MustCompile(`(?m)^\.lathe\.yml:4:5: error: .*needs.*$`).MatchString(out) {
		t.Errorf("config-errors shows no problem at .lathe.yml:4:5 on main:\n%s", out)
	}
	if got := runCLI(t, l, []string{"config-errors", "cfg", "--branch", "other"}); got != "no pipeline configuration problems in cfg\n" {
		t.Errorf("config-errors --branch other printed %q", got)
	}
	if got := runCLI(t, l, []string{"config-errors", "cfg", "--severity", "warning", "--branch", "main"}); got != "no pipeline configuration problems in cfg\n" {
		t.Errorf("config-errors --severity warning printed %q", got)
	}
	if got := runCLI(t, l, []string{"config-errors", "cfg", "--severity", "error"}); got != out {
		t.Errorf("config-errors --severity error printed %q, want %q", got, out)
	}
	schemaOf(t, l, "/api/v1/projects/cfg/config-errors", "config-errors", "cfg")
	branchRefused(t, l, 1, "nosuch", "config-errors", "nosuch")
	branchRefused(t, l, 2, "Usage:", "config-errors")
}
