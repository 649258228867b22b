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
	if err := client.New(l.URL, "").Do(context.Background(), http.MethodPost, "/api/v1/hooks/"+token, body, &out); err != nil {
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
		err := client.New(l.URL, "").Do(context.Background(), http.MethodPost, "/api/v1/hooks/"+tok.Token, push, nil)
		wantStatus(t, err, http.StatusUnauthorized, "webhook with a revoked token")
		err = client.New(l.URL, "").Do(context.Background(), http.MethodPost, "/api/v1/hooks/lathe_hook_nonsense", push, nil)
		wantStatus(t, err, http.StatusUnauthorized, "webhook with an unknown token")
	})
}
