package agent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
)

// BenchmarkKeptWorkspaceJob measures the jobs of one repository of 4,000
// files, one after another, in the workspace the agent keeps between them:
// each takes the idle workspace and checks the commit out in it, runs one
// step in the job's executor (the sandbox where bubblewrap is installed,
// which gives the workspace to the job user when the agent is root), and
// keeps the workspace again. checkout-ms is the median checkout, beside
// floor-checkout-ms: the same checkout in a worktree of the same commit
// that nothing touches between checkouts, measured in the same iterations.
func BenchmarkKeptWorkspaceJob(b *testing.B) {
	a := workspaceAgent(b)
	repo, commit := bigRepo(b, 40, 100)
	ctx := context.Background()
	mirror := a.mirrors.For(repo)
	ex, err := executor.New(executor.Options{})
	if err != nil {
		b.Fatal(err)
	}
	floor := filepath.Join(b.TempDir(), "floor")
	gitIn(b, repo, "worktree", "add", "-q", "--detach", floor, commit)
	as := &lathe.Assignment{Project: "p", RepoURL: repo}
	var checkouts, floors []time.Duration
	n := 0
	for b.Loop() {
		n++
		ws, _ := filepath.Abs(filepath.Join(a.WorkDir, "ws", fmt.Sprint(n)))
		t0 := time.Now()
		if err := a.checkoutWorkspace(ctx, mirror, as, commit, ws, a.Log); err != nil {
			b.Fatal(err)
		}
		checkouts = append(checkouts, time.Since(t0))
		shape := readShape(ws)
		spec := executor.Spec{Workspace: ws, Home: b.TempDir(), Control: b.TempDir()}
		spec.Env = executor.BaseEnv(spec.Home, nil)
		job, err := ex.Start(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		if code, err := job.Run(ctx, executor.Step{Script: "test -f d1/f1"}); err != nil || code != 0 {
			b.Fatalf("step: exit %d, %v", code, err)
		}
		job.Close()
		if !a.keepIdle(ctx, mirror, as, ws, shape, a.Log) {
			b.Fatal("the workspace was not kept")
		}

		t0 = time.Now()
		gitIn(b, floor, "checkout", "--force", "--detach", "--quiet", commit)
		floors = append(floors, time.Since(t0))
	}
	med := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2].Microseconds()) / 1000
	}
	c, f := med(checkouts), med(floors)
	b.ReportMetric(c, "checkout-ms")
	b.ReportMetric(f, "floor-checkout-ms")
	b.ReportMetric(c/f, "checkout/floor")
}

// bigRepo commits dirs directories of files files each, 2 KB apiece.
func bigRepo(tb testing.TB, dirs, files int) (dir, commit string) {
	tb.Helper()
	dir = tb.TempDir()
	gitIn(tb, dir, "init", "-q", "-b", "main")
	line := strings.Repeat("x", 63) + "\n"
	for d := range dirs {
		sub := filepath.Join(dir, fmt.Sprintf("d%d", d+1))
		if err := os.Mkdir(sub, 0o755); err != nil {
			tb.Fatal(err)
		}
		for f := range files {
			content := fmt.Sprintf("%d/%d\n", d, f) + strings.Repeat(line, 32)
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d", f+1)), []byte(content), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
	gitIn(tb, dir, "add", "-A")
	gitIn(tb, dir, "commit", "-q", "-m", "files")
	return dir, gitIn(tb, dir, "rev-parse", "HEAD")
}

func gitIn(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}
