package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const monorepoPipeline = `
on:
  push: {branches: [main]}
jobs:
  api:
    needs: []
    when: {paths: ["api/**"]}
    steps: [echo api]
  docs:
    needs: []
    when: {paths: ["docs/**"]}
    steps: [echo docs]
`

// hookRuns posts to the generic webhook and returns the jobs of each run it
// started, once finished, as "pipeline:job,job".
func hookRuns(t *testing.T, l *lathetest.Lathe, token string, body map[string]string) []string {
	t.Helper()
	var out struct{ Items []*lathe.Run }
	if err := l.ClientAs(t, "").Do(context.Background(), http.MethodPost, "/api/v1/hooks/"+token, body, &out); err != nil {
		t.Fatalf("webhook: %v", err)
	}
	var got []string
	for _, r := range out.Items {
		done := l.Wait(t, r.ID, 60*time.Second)
		if done.Event != body["event"] {
			t.Errorf("run %d event = %s; want %s", r.ID, done.Event, body["event"])
		}
		var jobs []string
		for _, j := range done.Jobs {
			jobs = append(jobs, j.Name)
		}
		got = append(got, done.Pipeline+":"+strings.Join(jobs, ","))
	}
	sort.Strings(got)
	return got
}

// A project's webhook token starts, on a push, every pipeline whose on:
// takes it; `when: paths` compares the pushed commit with the pipeline's
// last successful run on the branch, so a docs-only change runs only docs.
// A revoked token opens nothing.
func TestWebhookPushRunsWhatChanged(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{
			".lathe/mono.yml":   monorepoPipeline,
			".lathe/manual.yml": "on: [manual]\njobs:\n  by-hand:\n    steps: [echo hand]\n",
			"api/main.go":       "package main\n",
			"docs/index.md":     "# docs\n",
		})
		l.Project(t, "mono", repo)
		var tok lathe.HookToken
		l.Do(t, http.MethodPost, "/api/v1/projects/mono/hook-tokens", map[string]string{"name": "forge"}, &tok)
		if !strings.HasPrefix(tok.Token, "lathe_hook_") {
			t.Fatalf("hook token = %q", tok.Token)
		}

		// No earlier success: the changes are unknown and every job runs.
		push := map[string]string{"ref": "main", "event": "push"}
		if got := fmt.Sprint(hookRuns(t, l, tok.Token, push)); got != "[mono:api,docs]" {
			t.Errorf("first push ran %s; want [mono:api,docs] (the manual-only pipeline does not run on push)", got)
		}
		lathetest.Commit(t, repo, map[string]string{"docs/index.md": "# docs, better\n"})
		if got := fmt.Sprint(hookRuns(t, l, tok.Token, push)); got != "[mono:docs]" {
			t.Errorf("docs-only push ran %s; want [mono:docs]", got)
		}
		lathetest.Commit(t, repo, map[string]string{"api/main.go": "package main // v2\n", "docs/index.md": "# docs 3\n"})
		if got := fmt.Sprint(hookRuns(t, l, tok.Token, push)); got != "[mono:api,docs]" {
			t.Errorf("push touching both ran %s", got)
		}

		var list struct{ Items []*lathe.HookToken }
		l.Do(t, http.MethodGet, "/api/v1/projects/mono/hook-tokens", nil, &list)
		if len(list.Items) != 1 || list.Items[0].Token != "" || list.Items[0].LastUsed == nil {
			t.Errorf("tokens = %+v; want one, used, without its secret", list.Items)
		}
		var out bytes.Buffer
		env := &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		if code := cli.Run(context.Background(), []string{"hooks", "revoke", "mono", fmt.Sprint(tok.ID), "--server", l.URL, "--token", l.AdminToken}, env); code != 0 {
			t.Fatalf("lathe hooks revoke: %d\n%s", code, out.String())
		}
		err := l.ClientAs(t, "").Do(context.Background(), http.MethodPost, "/api/v1/hooks/"+tok.Token, push, nil)
		wantStatus(t, err, http.StatusUnauthorized, "webhook with a revoked token")
		err = l.ClientAs(t, "").Do(context.Background(), http.MethodPost, "/api/v1/hooks/lathe_hook_nonsense", push, nil)
		wantStatus(t, err, http.StatusUnauthorized, "webhook with an unknown token")
	})
}

// A pull request from a fork starts an untrusted run: nothing runs until a
// user with write approves that exact commit, and even then the job gets
// no secrets. A later run of the same commit needs no new approval; a new
// commit does.
func TestForkPullRequestWaitsForApprovalAndGetsNoSecrets(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := forkRepo(t)
	hook := forkHook(t, l, "oss", repo)

	run := hook()
	waitFor(t, 30*time.Second, "the untrusted job to wait", func() bool {
		return lathetest.JobByName(t, l.Run(t, run.ID), "test").Status == lathe.StatusWaiting
	})
	if r := l.Run(t, run.ID); !r.Untrusted || r.Event != "pull_request" {
		t.Errorf("run = untrusted %v, event %s", r.Untrusted, r.Event)
	}
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/approve", run.ID), nil, nil)
	done := l.Wait(t, run.ID, 60*time.Second)
	log := l.Log(t, lathetest.JobByName(t, done, "test").ID)
	if done.Status != lathe.StatusSuccess || !strings.Contains(log, "key=[none]") {
		t.Errorf("approved untrusted run = %s, log %q; want success without the secret", done.Status, log)
	}
	err := l.ClientAs(t, l.AdminToken).Do(context.Background(), http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/approve", run.ID), nil, nil)
	wantStatus(t, err, http.StatusConflict, "approving a run that no longer waits")

	// The same commit again: already approved, it runs at once.
	if again := l.Wait(t, hook().ID, 60*time.Second); again.Status != lathe.StatusSuccess {
		t.Errorf("second run of the approved commit = %s", again.Status)
	}
	// A new commit waits again.
	lathetest.Commit(t, repo, map[string]string{"README": "new\n"})
	next := hook()
	waitFor(t, 30*time.Second, "the new commit's job to wait", func() bool {
		return lathetest.JobByName(t, l.Run(t, next.ID), "test").Status == lathe.StatusWaiting
	})
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", next.ID), nil, nil)
	if c := l.Wait(t, next.ID, 30*time.Second); c.Status != lathe.StatusCanceled {
		t.Errorf("canceled waiting run = %s", c.Status)
	}
}

// A pull request's `when: paths` see the files it changes since its merge
// base with the branch it targets, whatever that branch did meanwhile.
func TestPullRequestPathsCountFromTheMergeBase(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, map[string]string{
		".lathe.yml":    strings.Replace(monorepoPipeline, "push: {branches: [main]}", "pull_request: {branches: [main]}", 1),
		"api/main.go":   "package main\n",
		"docs/index.md": "# docs\n",
	})
	l.Project(t, "prs", repo)
	var tok lathe.HookToken
	l.Do(t, http.MethodPost, "/api/v1/projects/prs/hook-tokens", map[string]string{"name": "forge"}, &tok)
	lathetest.Git(t, repo, "checkout", "-q", "-b", "feature")
	lathetest.Commit(t, repo, map[string]string{"docs/index.md": "# docs, from the feature\n"})
	lathetest.Git(t, repo, "checkout", "-q", "main")
	lathetest.Commit(t, repo, map[string]string{"api/main.go": "package main // main moved on\n"})

	pr := map[string]string{"ref": "feature", "event": "pull_request", "base": "main"}
	if got := fmt.Sprint(hookRuns(t, l, tok.Token, pr)); got != "[main:docs]" {
		t.Errorf("pull request changing docs ran %s; want [main:docs] (main's api change is not the PR's)", got)
	}
}

// A push whose pipeline file is broken does not vanish: it leaves a failed
// run per broken file, carrying the file's problems with their positions.
func TestPushOfABrokenPipelineLeavesAFailedRun(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe/ci.yml": "jobs:\n  a:\n    steps: [true]\n    neds: [b]\n"})
	l.Project(t, "broke", repo)
	var tok lathe.HookToken
	l.Do(t, http.MethodPost, "/api/v1/projects/broke/hook-tokens", map[string]string{"name": "forge"}, &tok)
	var out struct{ Items []*lathe.Run }
	if err := l.ClientAs(t, "").Do(context.Background(), http.MethodPost, "/api/v1/hooks/"+tok.Token,
		map[string]string{"ref": "main", "event": "push"}, &out); err != nil || len(out.Items) != 1 {
		t.Fatalf("push of a broken pipeline: %v, %d runs; want one failed run", err, len(out.Items))
	}
	r := l.Run(t, out.Items[0].ID)
	if r.Status != lathe.StatusFailed || r.Pipeline != "ci" || r.Event != "push" || len(r.Jobs) != 0 || len(r.Errors) != 1 {
		t.Fatalf("run = %s %s event %s, %d jobs, errors %+v", r.Status, r.Pipeline, r.Event, len(r.Jobs), r.Errors)
	}
	if e := r.Errors[0]; e.File != ".lathe/ci.yml" || e.Line != 4 || !strings.Contains(e.Message, "needs") {
		t.Errorf("problem = %+v; want .lathe/ci.yml line 4 suggesting needs", e)
	}
}

// One broken pipeline file stops only its own pipeline: a push gives it a
// failed run with its problems and starts the sound files' pipelines as
// usual, and those can be run by name, while a request that does not name
// one is still refused with the broken file's problems.
func TestABrokenFileStopsOnlyItsOwnPipeline(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, map[string]string{
		".lathe/ci.yml":   "name: ci\non: [push, manual]\njobs:\n  a:\n    steps: [echo sound]\n",
		".lathe/junk.yml": "jobs: {a: [\n",
	})
	l.Project(t, "half", repo)
	var tok lathe.HookToken
	l.Do(t, http.MethodPost, "/api/v1/projects/half/hook-tokens", map[string]string{"name": "forge"}, &tok)
	var out struct{ Items []*lathe.Run }
	if err := l.ClientAs(t, "").Do(context.Background(), http.MethodPost, "/api/v1/hooks/"+tok.Token,
		map[string]string{"ref": "main", "event": "push"}, &out); err != nil || len(out.Items) != 2 {
		t.Fatalf("push with one broken file: %v, %d runs; want the broken file's and ci's", err, len(out.Items))
	}
	byPipeline := map[string]*lathe.Run{}
	for _, r := range out.Items {
		byPipeline[r.Pipeline] = r
	}
	if junk := byPipeline["junk"]; junk == nil || junk.Status != lathe.StatusFailed || len(junk.Errors) == 0 || junk.Errors[0].File != ".lathe/junk.yml" {
		t.Errorf("the broken file's run = %+v; want failed with its problems", junk)
	}
	if ci := byPipeline["ci"]; ci == nil {
		t.Fatalf("no run of ci: %+v", out.Items)
	} else if r := l.Wait(t, ci.ID, 60*time.Second); r.Status != lathe.StatusSuccess {
		t.Errorf("ci's run = %s; want success", r.Status)
	}
	var byName lathe.Run
	l.Do(t, http.MethodPost, "/api/v1/projects/half/runs", map[string]string{"pipeline": "ci"}, &byName)
	if r := l.Wait(t, byName.ID, 60*time.Second); r.Status != lathe.StatusSuccess {
		t.Errorf("ci run by name = %s; want success", r.Status)
	}
	err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/half/runs", map[string]string{"pipeline": "cii"}, nil)
	if ce, ok := err.(*client.Error); !ok || ce.Status != http.StatusNotFound || !strings.Contains(ce.Detail, `no pipeline "cii"`) {
		t.Errorf("run of a pipeline no file defines: %v; want 404 naming it, not the broken file's problems", err)
	}
	err = l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/half/runs", map[string]string{"pipeline": "junk"}, nil)
	if ce, ok := err.(*client.Error); !ok || ce.Status != http.StatusUnprocessableEntity || len(ce.Errors) == 0 || ce.Errors[0].File != ".lathe/junk.yml" {
		t.Errorf("run of the broken pipeline: %v; want 422 naming .lathe/junk.yml", err)
	}
}
