package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// secretJob is a pipeline whose one job names secret and prints it.
func secretJob(secret string) string {
	return "jobs:\n  deploy:\n    secrets: [" + secret + "]\n    steps:\n      - echo \"got=$" + secret + "\"\n"
}

// runJob triggers the pipeline of project at ref and returns its one job
// and that job's log.
func runJob(t *testing.T, l *lathetest.Lathe, project, ref string) (*lathe.Job, string) {
	t.Helper()
	run := l.Wait(t, l.Trigger(t, project, ref, "").ID, 60*time.Second)
	job := lathetest.JobByName(t, run, "deploy")
	return job, l.Log(t, job.ID)
}

// lathecli runs a lathe command against l as its admin and returns what
// it printed; it fails the test unless the command succeeds.
func lathecli(t *testing.T, l *lathetest.Lathe, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	args = append(append(args[:2:2], "--server", l.URL, "--token", l.AdminToken), args[2:]...)
	if code := cli.Run(context.Background(), args, env); code != 0 {
		t.Fatalf("lathe %s: exit %d: %s", strings.Join(args, " "), code, out.String())
	}
	return out.String()
}

// Issue 12, item 8: a global secret reaches only the projects an admin
// granted it to; another project's job naming it fails, saying it is not
// granted and how to grant it.
func TestGlobalSecretReachesOnlyGrantedProjects(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": secretJob("GLOBAL_TOKEN")}))
		l.Project(t, "other", lathetest.Repo(t, map[string]string{".lathe.yml": secretJob("GLOBAL_TOKEN")}))
		mustCall(t, l, http.StatusCreated, "PUT", "/api/v1/secrets/GLOBAL_TOKEN", map[string]string{"value": "global-token-value"})

		// Not granted yet: no project gets it.
		if job, log := runJob(t, l, "shop", "main"); job.Status != lathe.StatusFailed ||
			!strings.Contains(log, "lathe: secret GLOBAL_TOKEN is a global secret that is not granted to project shop; "+
				"an admin grants it with `lathe secrets grant GLOBAL_TOKEN shop`") || strings.Contains(log, "got=") {
			t.Errorf("shop before the grant: %s\n%s", job.Status, log)
		}

		lathecli(t, l, "secrets", "grant", "GLOBAL_TOKEN", "shop", "other")
		if out := lathecli(t, l, "secrets", "revoke", "GLOBAL_TOKEN", "other"); !strings.Contains(out, "projects shop\n") {
			t.Errorf("lathe secrets revoke printed:\n%s", out)
		}
		var sec lathe.Secret
		json.Unmarshal(mustCall(t, l, http.StatusOK, "GET", "/api/v1/secrets/GLOBAL_TOKEN", nil), &sec)
		if strings.Join(sec.Projects, ",") != "shop" {
			t.Errorf("after the grant: projects %q, want [shop]", sec.Projects)
		}
		if job, log := runJob(t, l, "shop", "main"); job.Status != lathe.StatusSuccess || !strings.Contains(log, "got=***") {
			t.Errorf("shop after the grant: %s\n%s", job.Status, log)
		}
		if job, log := runJob(t, l, "other", "main"); job.Status != lathe.StatusFailed ||
			!strings.Contains(log, "secret GLOBAL_TOKEN is a global secret that is not granted to project other") || strings.Contains(log, "got=") {
			t.Errorf("other: %s\n%s", job.Status, log)
		}

		for _, c := range []struct {
			method, path string
			body         any
			want         int
			detail       string
		}{
			{"PATCH", "/api/v1/secrets/GLOBAL_TOKEN", map[string]any{"projects": []string{"shop", "nope"}}, 400, `projects: there is no project \"nope\"`},
			{"PATCH", "/api/v1/secrets/GLOBAL_TOKEN", map[string]any{}, 400, "give at least one of branches, events or projects"},
			{"PATCH", "/api/v1/secrets/NOT_THERE", map[string]any{"projects": []string{"shop"}}, 404, "NOT_THERE"},
		} {
			if code, body := call(t, l, c.method, c.path, c.body); code != c.want || !strings.Contains(string(body), c.detail) {
				t.Errorf("%s %s %v: %d %s; want %d with %q", c.method, c.path, c.body, code, body, c.want, c.detail)
			}
		}
		// A refused change changed nothing.
		json.Unmarshal(mustCall(t, l, http.StatusOK, "GET", "/api/v1/secrets/GLOBAL_TOKEN", nil), &sec)
		if strings.Join(sec.Projects, ",") != "shop" {
			t.Errorf("after refused changes: projects %q, want [shop]", sec.Projects)
		}
	})
}

// Issue 12, item 9: a protected secret reaches only runs whose recorded
// ref and event match its limits. A branch that names the secret in its
// own pipeline file (having dropped whatever gate main's file has) gets
// nothing: its job fails naming the secret and why.
func TestProtectedSecretFollowsTheRunsRefAndEvent(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		gated := "jobs:\n  deploy:\n    approval: true\n    secrets: [DEPLOY_KEY]\n    steps: [echo \"got=$DEPLOY_KEY\"]\n"
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": secretJob("DEPLOY_KEY")})
		lathetest.Git(t, repo, "checkout", "-q", "-b", "release/1.0")
		lathetest.Git(t, repo, "checkout", "-q", "-b", "feature", "main")
		lathetest.Commit(t, repo, map[string]string{".lathe.yml": secretJob("DEPLOY_KEY") + "# approval: dropped\n"})
		lathetest.Git(t, repo, "checkout", "-q", "main")
		lathetest.Commit(t, repo, map[string]string{".lathe.yml": gated})
		lathetest.Git(t, repo, "checkout", "-q", "release/1.0")
		l.Project(t, "shop", repo)
		mustCall(t, l, http.StatusCreated, "PUT", "/api/v1/projects/shop/secrets/DEPLOY_KEY", map[string]string{"value": "deploy-key-value"})
		lathecli(t, l, "secrets", "protect", "--project", "shop", "--branches", "main,release/*", "--events", "push,manual", "DEPLOY_KEY")
		var sec lathe.Secret
		json.Unmarshal(mustCall(t, l, http.StatusOK, "GET", "/api/v1/projects/shop/secrets/DEPLOY_KEY", nil), &sec)
		if strings.Join(sec.Branches, ",") != "main,release/*" || strings.Join(sec.Events, ",") != "push,manual" {
			t.Fatalf("after lathe secrets protect: %+v", sec)
		}

		if job, log := runJob(t, l, "shop", "release/1.0"); job.Status != lathe.StatusSuccess || !strings.Contains(log, "got=***") {
			t.Errorf("release/1.0: %s\n%s", job.Status, log)
		}
		if job, log := runJob(t, l, "shop", "feature"); job.Status != lathe.StatusFailed || strings.Contains(log, "got=") ||
			!strings.Contains(log, `lathe: secret DEPLOY_KEY is protected: it is limited to branches main, release/*, and this run is on branch "feature" (the run's ref is refs/heads/feature)`) {
			t.Errorf("feature: %s\n%s", job.Status, log)
		}

		// Events: a manual run on main no longer qualifies.
		mustCall(t, l, http.StatusOK, "PATCH", "/api/v1/projects/shop/secrets/DEPLOY_KEY", map[string]any{"events": []string{"push"}})
		if job, log := runJob(t, l, "shop", "release/1.0"); job.Status != lathe.StatusFailed || strings.Contains(log, "got=") ||
			!strings.Contains(log, `lathe: secret DEPLOY_KEY is protected: it is limited to runs started by push, and this run was started by "manual"`) {
			t.Errorf("manual run after events [push]: %s\n%s", job.Status, log)
		}

		for _, c := range []struct {
			body   any
			detail string
		}{
			{map[string]any{"events": []string{"push", "fork"}}, `events: \"fork\" is not an event; use push, pull_request, tag, schedule, manual, webhook, pipeline`},
			{map[string]any{"branches": []string{"[unclosed"}}, `branches: \"[unclosed\" is not a branch name or pattern`},
			{map[string]any{"projects": []string{"shop"}}, "projects: only a global secret is granted to projects"},
		} {
			if code, body := call(t, l, "PATCH", "/api/v1/projects/shop/secrets/DEPLOY_KEY", c.body); code != 400 || !strings.Contains(string(body), c.detail) {
				t.Errorf("PATCH %v: %d %s; want 400 with %q", c.body, code, body, c.detail)
			}
		}
	})
}
