package git

import (
	"context"
	"fmt"
	"strings"

	"github.com/lathe-ci/lathe/internal/rmtree"
)

// Checkout puts commit into dir as a detached worktree of the mirror: a
// real checkout with a .git the job can use, at the cost of one git process
// when the mirror already holds the commit. dir's base name must be unique
// among the mirror's live worktrees (an attempt ID is).
func (m *Mirror) Checkout(ctx context.Context, commit, dir string) error {
	return m.CheckoutRef(ctx, "", commit, dir)
}

// CheckoutRef is Checkout of a commit that ref (a full ref) pointed at: when
// the branches and tags fetched do not bring the commit, the ref is
// fetched alone, as a pull request's head (refs/pull/N/head) must be,
// since the mirror does not keep such refs.
func (m *Mirror) CheckoutRef(ctx context.Context, ref, commit, dir string) error {
	return m.CheckoutRefHeld(ctx, ref, commit, dir, nil)
}

// CheckoutRefHeld is CheckoutRef contacting the remote, when it must, as
// hold says (a private key for SSH: Hold.WithSSH).
func (m *Mirror) CheckoutRefHeld(ctx context.Context, ref, commit, dir string, hold Hold) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.ensure(ctx); err != nil {
		return err
	}
	add := func() error {
		// No reflog for the worktree's HEAD: the record of its one move
		// would be two more files to write and delete per job.
		_, err := run(ctx, m.Dir, "-c", "core.logAllRefUpdates=false", "worktree", "add", "--detach", "--force", "--quiet", dir, commit)
		return err
	}
	if err := add(); err != nil {
		if m.has(ctx, commit) {
			return fmt.Errorf("checkout %s: %w", commit, err)
		}
		if err := m.fetchFor(ctx, ref, commit, hold); err != nil {
			return err
		}
		if err := add(); err != nil {
			return fmt.Errorf("checkout %s: %w", commit, err)
		}
	}
	return nil
}

// fetchFor brings commit, which ref pointed at, into the mirror: every
// branch and tag, then ref alone when they did not bring it (a pull
// request's head). Callers hold m.mu.
func (m *Mirror) fetchFor(ctx context.Context, ref, commit string, hold Hold) error {
	if err := m.fetch(ctx, hold); err != nil {
		return err
	}
	if !m.has(ctx, commit) && strings.HasPrefix(ref, "refs/") && !strings.HasPrefix(ref, "refs/heads/") &&
		!strings.HasPrefix(ref, "refs/tags/") {
		if _, err := run(ctx, m.Dir, hold.args("fetch", "--quiet", "--no-tags", "--end-of-options", m.URL, ref)...); err != nil {
			return fmt.Errorf("fetch %s from %s: %w", ref, Redact(m.URL), err)
		}
	}
	return nil
}

// RemoveWorktree deletes a worktree made by Checkout and git's record of it.
func (m *Mirror) RemoveWorktree(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := rmtree.RemoveAll(dir)
	if err2 := rmtree.RemoveAll(m.WorktreeGitDir(dir)); err == nil {
		err = err2
	}
	return err
}
