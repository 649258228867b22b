package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/lathe-ci/lathe/git"
)

// A finished job's workspace is not deleted but cleaned (git clean -ffdx:
// everything the job made goes) and kept under <work dir>/idle, one per
// repository, for the next job of that repository: it is moved to that
// job's workspace path and the job's commit checked out in it, which puts
// every tracked file back as the commit has it. That is two git processes
// writing only what differs, where a fresh worktree is three writing every
// file, and the deletion of every file at the end. A workspace a hold
// keeps, or of an attempt that did not end (the agent stopping), is never
// kept; anything that fails along the way falls back to a fresh checkout.
// An agent's earlier life's idle workspaces go when it starts again
// (removeLeftovers).

// maxIdleWorkspaces bounds the idle workspaces kept (one per repository).
const maxIdleWorkspaces = 4

// idleWorkspaces are the kept workspaces by repository URL. Only the
// agent's job loop uses them.
type idleWorkspaces struct {
	byURL map[string]string
	order []string // URLs, oldest first
}

// take returns url's idle workspace and forgets it, or "".
func (w *idleWorkspaces) take(url string) string {
	dir, ok := w.byURL[url]
	if !ok {
		return ""
	}
	delete(w.byURL, url)
	w.order = deleteString(w.order, url)
	return dir
}

// put keeps dir as url's idle workspace and returns the URLs and
// workspaces no longer kept, to delete.
func (w *idleWorkspaces) put(url, dir string) (evicted map[string]string) {
	if w.byURL == nil {
		w.byURL = map[string]string{}
	}
	evicted = map[string]string{}
	if old, ok := w.byURL[url]; ok && old != dir {
		evicted[url] = old
	}
	w.byURL[url] = dir
	w.order = append(deleteString(w.order, url), url)
	for len(w.order) > maxIdleWorkspaces {
		u := w.order[0]
		w.order = w.order[1:]
		evicted[u] = w.byURL[u]
		delete(w.byURL, u)
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

// checkoutWorkspace checks commit out in ws: in the repository's idle
// workspace, moved there, when there is one, else as a fresh worktree.
func (a *Agent) checkoutWorkspace(ctx context.Context, mirror *git.Mirror, url, ref, commit, ws string, log *slog.Logger) error {
	if idle := a.idle.take(url); idle != "" {
		err := mirror.MoveWorktree(idle, ws)
		if err == nil {
			err = mirror.CheckoutAgain(ctx, ref, commit, ws)
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
	return mirror.CheckoutRef(ctx, ref, commit, ws)
}

// keepIdle cleans the finished attempt's workspace ws and keeps it as the
// repository's idle workspace. It reports whether it did; when not, ws is
// to be deleted as usual.
func (a *Agent) keepIdle(ctx context.Context, mirror *git.Mirror, url, ws string, log *slog.Logger) bool {
	idle, err := filepath.Abs(filepath.Join(a.WorkDir, "idle", "idle-"+strings.TrimSuffix(filepath.Base(mirror.Dir), ".git")))
	if err != nil {
		return false
	}
	if err := mirror.CleanWorktree(ctx, ws); err != nil {
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
	for u, dir := range a.idle.put(url, idle) {
		m := a.mirrors.For(u)
		a.remover.remove(func() error { return m.RemoveWorktree(dir) })
	}
	return true
}
