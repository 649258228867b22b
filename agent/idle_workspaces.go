package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
)

// A finished job's workspace is not deleted but cleaned (git clean -ffdx:
// everything the job made goes; skipped when it made nothing, see
// workspace_shape.go) and kept under <work dir>/idle, one per
// repository, for the next job of that repository: it is moved to that
// job's workspace path and the job's commit checked out in it, which puts
// every tracked file back as the commit has it. That is two git processes
// writing only what differs, where a fresh worktree is three writing every
// file, and the deletion of every file at the end. A workspace a hold
// keeps, or of an attempt that did not end (the agent stopping), is never
// kept; anything that fails along the way falls back to a fresh checkout.
//
// What a job could leave that cleaning and checking out do not reset
// (extended attributes of a tracked file, say) must never reach a job it
// should not: a workspace serves only jobs of the same project and
// repository, and a job with secrets or of an untrusted run neither takes
// an idle workspace nor leaves one.
// An agent's earlier life's idle workspaces go when it starts again
// (removeLeftovers).

// maxIdleWorkspaces bounds the idle workspaces kept (one per repository).
const maxIdleWorkspaces = 4

// idleWorkspaces are the kept workspaces by idleKey. Only the agent's job
// loop uses them.
type idleWorkspaces struct {
	byKey map[string]string
	order []string // keys, oldest first
}

// take returns key's idle workspace and forgets it, or "".
func (w *idleWorkspaces) take(key string) string {
	dir, ok := w.byKey[key]
	if !ok {
		return ""
	}
	delete(w.byKey, key)
	w.order = deleteString(w.order, key)
	return dir
}

// put keeps dir as key's idle workspace and returns the workspaces no
// longer kept, to delete.
func (w *idleWorkspaces) put(key, dir string) (evicted []string) {
	if w.byKey == nil {
		w.byKey = map[string]string{}
	}
	if old, ok := w.byKey[key]; ok && old != dir {
		evicted = append(evicted, old)
	}
	w.byKey[key] = dir
	w.order = append(deleteString(w.order, key), key)
	for len(w.order) > maxIdleWorkspaces {
		k := w.order[0]
		w.order = w.order[1:]
		evicted = append(evicted, w.byKey[k])
		delete(w.byKey, k)
	}
	return evicted
}

func deleteString(s []string, v string) []string {
	out := s[:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// idleKey is what an idle workspace is kept by: the job's project and
// repository.
func idleKey(as *lathe.Assignment) string { return as.Project + "\x00" + as.RepoURL }

// reusable reports whether the job may take or leave an idle workspace.
// A job of an untrusted run (a fork's pull request) does neither: what it
// could leave behind must never reach a trusted job, whose output may be
// released.
func reusable(as *lathe.Assignment) bool {
	return !as.Untrusted && len(as.Secrets) == 0 && len(as.SecretFiles) == 0
}

// checkoutWorkspace checks commit out in ws: in the repository's idle
// workspace, moved there, when there is one the job may take, else as a
// fresh worktree.
func (a *Agent) checkoutWorkspace(ctx context.Context, mirror *git.Mirror, as *lathe.Assignment, commit, ws string, log *slog.Logger) error {
	hold, done, err := checkoutHold(as)
	if err != nil {
		return err
	}
	defer done()
	ref := as.Ref
	if !reusable(as) {
		return mirror.CheckoutRefHeld(ctx, ref, commit, ws, hold)
	}
	if idle := a.idle.take(idleKey(as)); idle != "" {
		err := mirror.MoveWorktree(idle, ws)
		if err == nil {
			err = mirror.CheckoutAgainHeld(ctx, ref, commit, ws, hold)
		}
		if err == nil {
			return nil
		}
		log.Warn("cannot reuse the repository's idle workspace; checking out afresh", "dir", idle, "err", err)
		for _, dir := range []string{ws, idle} {
			if rerr := mirror.RemoveWorktree(dir); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
	}
	return mirror.CheckoutRefHeld(ctx, ref, commit, ws, hold)
}

// keepIdle cleans the finished attempt's workspace ws, unless it still has
// the shape it had when checked out (see workspace_shape.go), and keeps it
// as the idle workspace of the job's project and repository. It reports
// whether it did; when not, ws is to be deleted as usual.
func (a *Agent) keepIdle(ctx context.Context, mirror *git.Mirror, as *lathe.Assignment, ws string, checkedOut treeShape, log *slog.Logger) bool {
	if !reusable(as) {
		return false
	}
	sum := sha256.Sum256([]byte(idleKey(as)))
	idle, err := filepath.Abs(filepath.Join(a.WorkDir, "idle", "idle-"+hex.EncodeToString(sum[:8])))
	if err != nil {
		return false
	}
	if untouched(checkedOut, ws) {
		log.Debug("nothing to clean in the workspace", "dir", ws)
	} else if err := mirror.CleanWorktree(ctx, ws); err != nil {
		log.Warn("cannot clean the workspace to keep it; deleting it", "dir", ws, "err", err)
		return false
	}
	if _, err := os.Lstat(idle); err == nil { // not expected: take forgot it
		if err := a.removeWorkspace(idle); err != nil {
			return false
		}
	}
	if err := mirror.MoveWorktree(ws, idle); err != nil {
		log.Warn("cannot keep the workspace; deleting it", "dir", ws, "err", err)
		mirror.RemoveWorktree(idle) // whatever of it got there
		return false
	}
	for _, dir := range a.idle.put(idleKey(as), idle) {
		a.remover.remove(func() error { return a.removeWorkspace(dir) })
	}
	return true
}
