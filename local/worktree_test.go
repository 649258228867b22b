package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A worktree addWorktree makes is one git knows as it knows those git
// worktree add makes: listed, detached at the commit, clean, its own HEAD
// and index, kept by prune while it exists; release drops it.
func TestAddWorktreeMakesAWorktreeGitKnows(t *testing.T) {
	repoDir := lathetest.Repo(t, map[string]string{"a.txt": "a\n", "sub/b.txt": "b\n", "run.sh": "#!/bin/sh\n"})
	if err := os.Chmod(filepath.Join(repoDir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	lathetest.Git(t, repoDir, "add", "-A")
	lathetest.Git(t, repoDir, "-c", "user.name=t", "-c", "user.email=t@lathe.invalid", "commit", "-q", "-m", "exec bit")
	commit := strings.TrimSpace(lathetest.Git(t, repoDir, "rev-parse", "HEAD"))
	common := filepath.Join(repoDir, ".git")
	if !plainWorktrees(common) {
		t.Fatal("a fresh repository is not plain")
	}
	ws := filepath.Join(t.TempDir(), "ws")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := addWorktree(context.Background(), common, ws, commit); err != nil {
		t.Fatal(err)
	}
	if got := lathetest.Git(t, repoDir, "worktree", "list", "--porcelain"); !strings.Contains(got, "worktree "+ws+"\nHEAD "+commit+"\ndetached\n") ||
		strings.Contains(got, "locked") {
		t.Errorf("git worktree list:\n%s", got)
	}
	if got := lathetest.Git(t, ws, "status", "--porcelain", "--untracked-files=all"); got != "" {
		t.Errorf("git status in the worktree:\n%s", got)
	}
	if got := strings.TrimSpace(lathetest.Git(t, ws, "rev-parse", "HEAD")); got != commit {
		t.Errorf("HEAD in the worktree = %s; want %s", got, commit)
	}
	if b, err := os.ReadFile(filepath.Join(ws, "sub", "b.txt")); err != nil || string(b) != "b\n" {
		t.Errorf("sub/b.txt = %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(ws, "run.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("run.sh lost its exec bit: %v, %v", fi.Mode(), err)
	}
	if got := lathetest.Git(t, repoDir, "status", "--porcelain"); got != "" {
		t.Errorf("git status in the repository:\n%s", got)
	}
	lathetest.Git(t, repoDir, "worktree", "prune")
	if got := lathetest.Git(t, repoDir, "worktree", "list"); !strings.Contains(got, ws) {
		t.Errorf("prune dropped a live worktree:\n%s", got)
	}
	s := &source{top: repoDir, commit: commit}
	if !s.release(ws) {
		t.Error("release did not find the worktree's record")
	}
	if got := lathetest.Git(t, repoDir, "worktree", "list"); strings.Count(got, "\n") != 1 {
		t.Errorf("worktrees left after release:\n%s", got)
	}
}

// Where git worktree add would carry something over to a new worktree, or
// refs are not files, exec leaves the worktree to it.
func TestPlainWorktreesLeavesOtherRepositoriesToGit(t *testing.T) {
	for name, setup := range map[string][]string{
		"worktree config": {"config", "extensions.worktreeConfig", "true"},
		"sparse checkout": {"config", "core.sparseCheckout", "true"},
	} {
		t.Run(name, func(t *testing.T) {
			repoDir := lathetest.Repo(t, map[string]string{"a.txt": "a\n"})
			lathetest.Git(t, repoDir, setup...)
			if plainWorktrees(filepath.Join(repoDir, ".git")) {
				t.Error("plain")
			}
		})
	}
	t.Run("GIT_INDEX_FILE", func(t *testing.T) {
		repoDir := lathetest.Repo(t, map[string]string{"a.txt": "a\n"})
		t.Setenv("GIT_INDEX_FILE", filepath.Join(t.TempDir(), "index"))
		if plainWorktrees(filepath.Join(repoDir, ".git")) {
			t.Error("plain")
		}
	})
}
