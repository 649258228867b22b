package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const branchPipeline = `
env:
  GREETING: from-pipeline
jobs:
  show:
    steps: ['echo "greeting=$GREETING target=${DEPLOY_TARGET:-none}"']
`

// Branches are tracked from the runs started on them, with their head
// commit; a branch with a slash in its name is addressed as the rest of
// the path or escaped. Its settings' env reaches the jobs of its later
// runs (over the pipeline's env), and forgetting the branch drops its
// settings but keeps its runs.
func TestBranchesFromRunsSettingsAndDelete(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": branchPipeline})
		lathetest.Git(t, repo, "checkout", "-q", "-b", "release/1.x")
		relHead := lathetest.Commit(t, repo, map[string]string{"VERSION": "1.0\n"})
		lathetest.Git(t, repo, "checkout", "-q", "main")
		l.Project(t, "br", repo)

		mainRun := l.Wait(t, l.Trigger(t, "br", "", "").ID, 60*time.Second)
		relRun := l.Wait(t, l.Trigger(t, "br", "release/1.x", "").ID, 60*time.Second)
		if mainRun.Status != lathe.StatusSuccess || relRun.Status != lathe.StatusSuccess {
			t.Fatalf("runs = %s, %s", mainRun.Status, relRun.Status)
		}

		var page lathe.Page[*lathe.Branch]
		l.Do(t, http.MethodGet, "/api/v1/projects/br/branches", nil, &page)
		heads := map[string]string{}
		for _, b := range page.Items {
			heads[b.Name] = b.HeadCommit
		}
		if len(heads) != 2 || heads["main"] != mainRun.Commit || heads["release/1.x"] != relHead {
			t.Errorf("branches = %v; want main at %.7s and release/1.x at %.7s", heads, mainRun.Commit, relHead)
		}
		var first lathe.Page[*lathe.Branch]
		l.Do(t, http.MethodGet, "/api/v1/projects/br/branches?limit=1", nil, &first)
		if len(first.Items) != 1 || first.Next == nil {
			t.Fatalf("first page of 1 = %d items, next %v", len(first.Items), first.Next)
		}
		var second lathe.Page[*lathe.Branch]
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/projects/br/branches?limit=1&before=%d", *first.Next), nil, &second)
		if len(second.Items) != 1 || second.Next != nil || second.Items[0].Name == first.Items[0].Name {
			t.Errorf("second page = %+v", second)
		}

		// Escaped, as the OpenAPI document has it.
		var rel lathe.Branch
		l.Do(t, http.MethodGet, "/api/v1/projects/br/branches/release%2F1.x", nil, &rel)
		if rel.Name != "release/1.x" || len(rel.LastRuns) != 1 || rel.LastRuns[0].ID != relRun.ID ||
			rel.RunCounts[lathe.StatusSuccess] != 1 || len(rel.Settings.Env) != 0 || rel.Settings.KeepRuns != nil {
			t.Errorf("branch release/1.x = %+v; want its one successful run and no settings", rel)
		}
		// As written, the rest of the path.
		if code, body := getUnchecked(t, l, "/api/v1/projects/br/branches/release/1.x"); code != http.StatusOK ||
			!strings.Contains(body, `"name":"release/1.x"`) {
			t.Errorf("GET …/branches/release/1.x = %d %s", code, body)
		}

		// Bad settings are refused, naming the field.
		for _, bad := range []map[string]any{
			{"env": []map[string]string{{"name": "LATHE_COMMIT", "value": "x"}}},
			{"env": []map[string]string{{"name": "1BAD", "value": "x"}}},
			{"env": []map[string]string{{"name": "A", "value": "1"}, {"name": "A", "value": "2"}}},
			{"keep_days": 0},
			{"keep_runs": "ten"},
		} {
			err := l.Client.Do(context.Background(), http.MethodPatch, "/api/v1/projects/br/branches/release%2F1.x", bad, nil)
			wantStatus(t, err, http.StatusBadRequest, fmt.Sprintf("settings %v", bad))
		}
		l.Do(t, http.MethodPatch, "/api/v1/projects/br/branches/release%2F1.x", map[string]any{
			"env":       []map[string]string{{"name": "GREETING", "value": "from-branch"}, {"name": "DEPLOY_TARGET", "value": "staging"}},
			"keep_runs": 20, "keep_days": 30,
		}, &rel)
		if fmt.Sprint(rel.Settings.Env) != "[{GREETING from-branch} {DEPLOY_TARGET staging}]" ||
			rel.Settings.KeepRuns == nil || *rel.Settings.KeepRuns != 20 || *rel.Settings.KeepDays != 30 {
			t.Errorf("settings = %+v", rel.Settings)
		}
		// keep_days back to the default; the rest stays.
		l.Do(t, http.MethodPatch, "/api/v1/projects/br/branches/release%2F1.x", map[string]any{"keep_days": nil}, &rel)
		if rel.Settings.KeepDays != nil || rel.Settings.KeepRuns == nil || len(rel.Settings.Env) != 2 {
			t.Errorf("settings after keep_days: null = %+v", rel.Settings)
		}
		err := l.Client.Do(context.Background(), http.MethodPatch, "/api/v1/projects/br/branches/nope", map[string]any{}, nil)
		wantStatus(t, err, http.StatusNotFound, "settings of a branch never seen")

		// The branch's env reaches its runs' jobs, over the pipeline's.
		relRun2 := l.Wait(t, l.Trigger(t, "br", "release/1.x", "").ID, 60*time.Second)
		log := l.Log(t, lathetest.JobByName(t, relRun2, "show").ID)
		if relRun2.Status != lathe.StatusSuccess || !strings.Contains(log, "greeting=from-branch target=staging") {
			t.Errorf("run on release/1.x = %s, log %q; want the branch's env", relRun2.Status, log)
		}
		mainRun2 := l.Wait(t, l.Trigger(t, "br", "main", "").ID, 60*time.Second)
		if log := l.Log(t, lathetest.JobByName(t, mainRun2, "show").ID); !strings.Contains(log, "greeting=from-pipeline target=none") {
			t.Errorf("run on main: log %q; want the pipeline's env only", log)
		}

		// Forgetting the branch drops it and its settings, never its runs.
		l.Do(t, http.MethodDelete, "/api/v1/projects/br/branches/release%2F1.x", nil, nil)
		err = l.Client.Do(context.Background(), http.MethodGet, "/api/v1/projects/br/branches/release%2F1.x", nil, nil)
		wantStatus(t, err, http.StatusNotFound, "a forgotten branch")
		var runs lathe.Page[*lathe.Run]
		l.Do(t, http.MethodGet, "/api/v1/projects/br/runs?branch=release/1.x", nil, &runs)
		if len(runs.Items) != 2 {
			t.Errorf("runs of the forgotten branch = %d; want 2", len(runs.Items))
		}
		// A new run tracks it again, with no settings.
		relRun3 := l.Wait(t, l.Trigger(t, "br", "release/1.x", "").ID, 60*time.Second)
		if log := l.Log(t, lathetest.JobByName(t, relRun3, "show").ID); !strings.Contains(log, "greeting=from-pipeline target=none") {
			t.Errorf("run on the re-tracked branch: log %q; want no branch env", log)
		}
		l.Do(t, http.MethodGet, "/api/v1/projects/br/branches/release%2F1.x", nil, &rel)
		if len(rel.Settings.Env) != 0 || rel.RunCounts[lathe.StatusSuccess] != 3 {
			t.Errorf("re-tracked branch = %+v; want no settings and its 3 runs counted", rel)
		}
	})
}

// The runs lists filter by pull request, across projects and per project.
func TestRunsFilterByPullRequest(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": branchPipeline})
	p := l.Project(t, "prs", repo)
	// Runs of pull requests 7 and 8 (as a forge hook starts them), and one of a branch.
	for _, pr := range []int64{7, 8, 7} {
		r := &lathe.Run{ProjectID: p.ID, Project: p.Name, Pipeline: "main", Ref: fmt.Sprintf("refs/pull/%d/head", pr),
			Branch: "main", Commit: strings.Repeat("a", 40), Event: "pull_request", PullRequest: pr,
			Errors: []lathe.ConfigProblem{{File: ".lathe.yml", Line: 1, Column: 1, Message: "broken", Severity: "error"}}}
		if err := l.Store.CreateBrokenRun(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	l.Trigger(t, "prs", "", "")
	for _, path := range []string{"/api/v1/runs?pull_request=7", "/api/v1/projects/prs/runs?pull_request=7"} {
		var page lathe.Page[*lathe.Run]
		l.Do(t, http.MethodGet, path, nil, &page)
		if len(page.Items) != 2 || page.Items[0].PullRequest != 7 || page.Items[1].PullRequest != 7 {
			t.Errorf("%s = %d runs; want the 2 of pull request 7", path, len(page.Items))
		}
	}
	var all lathe.Page[*lathe.Run]
	l.Do(t, http.MethodGet, "/api/v1/projects/prs/runs", nil, &all)
	if len(all.Items) != 4 {
		t.Errorf("unfiltered = %d runs; want 4", len(all.Items))
	}
	for _, bad := range []string{"0", "x", "-1"} {
		err := l.Client.Do(context.Background(), http.MethodGet, "/api/v1/runs?pull_request="+bad, nil, nil)
		wantStatus(t, err, http.StatusBadRequest, "pull_request="+bad)
	}
}

// Branch settings and forgetting a branch need an owner; a writer gets 403.
func TestBranchSettingsNeedAnOwner(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": branchPipeline})
	p := l.Project(t, "own", repo)
	if err := l.Store.BranchMoved(context.Background(), p.ID, "main", strings.Repeat("b", 40)); err != nil {
		t.Fatal(err)
	}
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "wri", "password": "pw-wri-12345"}, nil)
	l.Do(t, http.MethodPut, "/api/v1/projects/own/members/users/wri", map[string]any{"role": "write"}, nil)
	writer := l.ClientAs(t, login(t, l, "wri", "pw-wri-12345"))
	err := writer.Do(context.Background(), http.MethodPatch, "/api/v1/projects/own/branches/main",
		map[string]any{"env": []map[string]string{{"name": "BASH_ENV", "value": "/tmp/x"}}}, nil)
	wantStatus(t, err, http.StatusForbidden, "a writer changing branch env")
	err = writer.Do(context.Background(), http.MethodDelete, "/api/v1/projects/own/branches/main", nil, nil)
	wantStatus(t, err, http.StatusForbidden, "a writer forgetting a branch")
	var b lathe.Branch
	if err := writer.Do(context.Background(), http.MethodGet, "/api/v1/projects/own/branches/main", nil, &b); err != nil || b.Name != "main" {
		t.Errorf("a writer reading the branch: %v", err)
	}
}

// getUnchecked is a GET by a client that does not hold the answer to the
// OpenAPI document, whose path parameters are one segment each: for a
// path the document spells another way.
func getUnchecked(t *testing.T, l *lathetest.Lathe, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, l.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+l.AdminToken)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
