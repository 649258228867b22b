package server_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A ref outside refs/heads and refs/tags (a forge's refs/pull/2/head, on
// no branch) works through the API and the webhook alike, and a ref that
// does not exist is a 4xx; the server's log never holds the webhook token
// from the path, whatever happens.
func TestRefsOutsideBranchesAndTags(t *testing.T) {
	bin := lathetest.Binary(t)
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "on: [manual, pull_request, webhook]\njobs:\n  j:\n    steps: [true]\n"})
	lathetest.Git(t, repo, "checkout", "-q", "-b", "pr")
	pr := lathetest.Commit(t, repo, map[string]string{"change": "x"})
	lathetest.Git(t, repo, "update-ref", "refs/pull/2/head", pr)
	lathetest.Git(t, repo, "checkout", "-q", "main")
	lathetest.Git(t, repo, "branch", "-q", "-D", "pr")

	dir, addr := t.TempDir(), lathetest.FreeAddr(t)
	proc, l := serverProcess(t, bin, addr, dir, "")
	anon := client.New("http://"+addr, "")
	admin, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	l.Project(t, "fork", repo)
	var hook lathe.HookToken
	l.Do(t, http.MethodPost, "/api/v1/projects/fork/hook-tokens", map[string]string{"name": "forge"}, &hook)
	ctx := context.Background()

	var run lathe.Run
	l.Do(t, http.MethodPost, "/api/v1/projects/fork/runs", map[string]string{"ref": "refs/pull/2/head", "pipeline": "main"}, &run)
	if run.Commit != pr {
		t.Errorf("run of refs/pull/2/head is at %s, want %s", run.Commit, pr)
	}
	var out struct{ Items []*lathe.Run }
	if err := anon.Do(ctx, http.MethodPost, "/api/v1/hooks/"+hook.Token,
		map[string]any{"ref": "refs/pull/2/head", "event": "pull_request", "base": "main"}, &out); err != nil {
		t.Errorf("webhook for refs/pull/2/head: %v", err)
	} else if len(out.Items) != 1 || out.Items[0].Commit != pr {
		t.Errorf("webhook for refs/pull/2/head started %+v, want one run at %s", out.Items, pr)
	}
	for _, ref := range []string{"refs/pull/3/head", "refs/notes/nothing"} {
		err := anon.Do(ctx, http.MethodPost, "/api/v1/hooks/"+hook.Token, map[string]any{"ref": ref}, nil)
		if s := client.StatusOf(err); s < 400 || s >= 500 {
			t.Errorf("webhook for missing %s: %v, want a 4xx", ref, err)
		}
	}
	proc.Signal(t, syscall.SIGTERM)
	proc.Wait(t, 30*time.Second)
	// Its log lines, not the banner that shows the operator the first start's token.
	for _, line := range strings.Split(proc.Output.String(), "\n") {
		if strings.Contains(line, "level=") && (strings.Contains(line, hook.Token) || strings.Contains(line, strings.TrimSpace(string(admin)))) {
			t.Errorf("the server log holds a token: %s", line)
		}
	}
}
