package local

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
)

// addWorktree makes the empty directory ws a linked worktree of the
// repository whose common git directory is common, detached at commit: what
// `git worktree add --detach` makes, in one git process instead of three.
// It writes git's record of the worktree (gitrepository-layout(5):
// worktrees/ID/gitdir, commondir and HEAD, with a "locked" file while it is
// made, as git does, so that a prune meanwhile leaves it alone) and the
// workspace's .git file, then has git fill the index and the files with the
// very command git worktree add runs for that (reset --hard, no hooks, no
// submodules, GIT_DIR and GIT_WORK_TREE set); it spares the worktree add process itself and its
// update-ref. The checkout is what a job in a repository waits for, longer
// than the sandbox takes to start: about 7.5 ms instead of 15 here.
// plainWorktrees says when the repository is one it may do this in.
func addWorktree(ctx context.Context, common, ws, commit string) error {
	dir := filepath.Join(common, "worktrees")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	record, err := os.MkdirTemp(dir, "lathe-exec-")
	if err != nil {
		return err
	}
	// MkdirTemp makes it 0700; git makes its records as the umask says.
	err = os.Chmod(record, 0o755)
	files := []struct{ path, content string }{
		{filepath.Join(record, "locked"), "initializing\n"},
		{filepath.Join(record, "commondir"), "../..\n"},
		{filepath.Join(record, "HEAD"), commit + "\n"},
		{filepath.Join(record, "gitdir"), filepath.Join(ws, ".git") + "\n"},
		{filepath.Join(ws, ".git"), "gitdir: " + record + "\n"},
	}
	for _, f := range files {
		if err == nil {
			err = os.WriteFile(f.path, []byte(f.content), 0o644)
		}
	}
	if err == nil {
		// As git worktree add runs it: naming the worktree rather than
		// having git find it, so that a workspace the sandbox has already
		// given the job user is no "dubious ownership" to git.
		env := []string{"GIT_DIR=" + record, "GIT_WORK_TREE=" + ws}
		_, err = git(ctx, ws, env, "-c", "core.hooksPath=/dev/null", "reset", "--hard", "--no-recurse-submodules", "--quiet")
	}
	if err == nil {
		err = os.Remove(filepath.Join(record, "locked"))
	}
	if err != nil {
		os.RemoveAll(record)
		os.Remove(filepath.Join(ws, ".git"))
		return err
	}
	return nil
}

// plainWorktrees reports whether addWorktree may write worktree records in
// the repository whose common git directory is common: files for refs (not
// reftable, whose per-worktree HEAD is not a file), no per-worktree
// configuration or sparse checkout, which git worktree add would carry over
// to the new worktree, and no GIT_* variable that moves what git reads.
// Elsewhere git worktree add makes the worktree.
func plainWorktrees(common string) bool {
	for _, v := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"} {
		if os.Getenv(v) != "" {
			return false
		}
	}
	if _, err := os.Stat(filepath.Join(common, "reftable")); !errors.Is(err, os.ErrNotExist) {
		return false
	}
	if _, err := os.Stat(filepath.Join(common, "info", "sparse-checkout")); !errors.Is(err, os.ErrNotExist) {
		return false
	}
	config, err := os.ReadFile(filepath.Join(common, "config"))
	if err != nil {
		return false
	}
	config = bytes.ToLower(config)
	return !bytes.Contains(config, []byte("worktreeconfig")) && !bytes.Contains(config, []byte("refstorage")) &&
		!bytes.Contains(config, []byte("sparsecheckout"))
}
