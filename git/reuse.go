package git

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// A worktree a finished job leaves can serve the next job of the same
// repository: CleanWorktree deletes what the job made, MoveWorktree puts
// it where the next job's workspace goes, and CheckoutAgain checks the
// next commit out in it. `git worktree add` is three git processes that
// write every file and git's record of the worktree anew, and deleting the
// workspace afterwards removes them all again; cleaning and checking out
// in place is two git processes that write only what differs.
//
// These run git on the worktree's record in the mirror
// (<mirror>/worktrees/<name>) and on the worktree's directory, named
// explicitly: never on what the worktree's .git file, which the job could
// change, says.

// WorktreeGitDir is git's record of the worktree at dir, in the mirror:
// what git keeps of that worktree alone (its HEAD and index), which its
// .git file names. git names it after the worktree's directory (dir's
// base names are unique among the mirror's worktrees, see Checkout).
func (m *Mirror) WorktreeGitDir(dir string) string {
	return filepath.Join(m.Dir, "worktrees", filepath.Base(dir))
}

// inWorktree runs git on the worktree at dir.
func (m *Mirror) inWorktree(ctx context.Context, dir string, args ...string) error {
	_, err := runTo(ctx, dir, false, append([]string{"--git-dir=" + m.WorktreeGitDir(dir), "--work-tree=" + dir}, args...)...)
	return err
}

// CleanWorktree deletes every file and directory in the worktree at dir
// that git does not track, ignored ones and nested repositories too. What
// the job changed in tracked files stays until CheckoutAgain.
func (m *Mirror) CleanWorktree(ctx context.Context, dir string) error {
	if err := m.inWorktree(ctx, dir, "clean", "-ffdxq"); err != nil {
		return fmt.Errorf("clean worktree %s: %w", dir, err)
	}
	return nil
}

// CheckoutAgain checks commit out in the worktree at dir, which
// CleanWorktree cleaned: every tracked file as the commit has it, nothing
// else. As with CheckoutRef, a commit the mirror lacks is fetched.
func (m *Mirror) CheckoutAgain(ctx context.Context, ref, commit, dir string) error {
	return m.CheckoutAgainHeld(ctx, ref, commit, dir, nil)
}

// CheckoutAgainHeld is CheckoutAgain contacting the remote as hold says.
func (m *Mirror) CheckoutAgainHeld(ctx context.Context, ref, commit, dir string, hold Hold) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// The mirror's core.checkStat (see ensure) keeps this checkout from
	// writing every file again after the job user was given them.
	if err := m.ensure(ctx); err != nil {
		return err
	}
	co := func() error {
		return m.inWorktree(ctx, dir, "-c", "core.logAllRefUpdates=false", "checkout", "--force", "--detach", "--quiet", commit)
	}
	if err := co(); err != nil {
		if m.has(ctx, commit) {
			return fmt.Errorf("checkout %s: %w", commit, err)
		}
		if err := m.fetchFor(ctx, ref, commit, hold); err != nil {
			return err
		}
		if err := co(); err != nil {
			return fmt.Errorf("checkout %s: %w", commit, err)
		}
	}
	return nil
}

// MoveWorktree renames the worktree at from to to (a path that does not
// exist, on the same file system) with git's record of it, and points
// each at the other again. The worktree's .git file is written anew
// whatever the job left there.
func (m *Mirror) MoveWorktree(from, to string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	oldAdmin, newAdmin := m.WorktreeGitDir(from), m.WorktreeGitDir(to)
	if _, err := os.Lstat(newAdmin); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("move worktree: %s is taken (%v)", newAdmin, err)
	}
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("move worktree: %w", err)
	}
	if err := os.Rename(oldAdmin, newAdmin); err != nil {
		os.Rename(to, from)
		return fmt.Errorf("move worktree: %w", err)
	}
	if err := rewrite(filepath.Join(newAdmin, "gitdir"), filepath.Join(to, ".git")+"\n"); err != nil {
		return fmt.Errorf("move worktree: %w", err)
	}
	if err := rewrite(filepath.Join(to, ".git"), "gitdir: "+newAdmin+"\n"); err != nil {
		return fmt.Errorf("move worktree: %w", err)
	}
	return nil
}

// rewrite makes path a regular file holding s: in place when it is one
// already, linked nowhere else (overwritten, then cut to length, so ext4
// neither frees nor allocates a block or an inode for it), else anew. A
// link or a directory at path is replaced, never followed.
func rewrite(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
	if err == nil {
		fi, serr := f.Stat()
		st, ok := fi.Sys().(*syscall.Stat_t)
		if serr == nil && fi.Mode().IsRegular() && ok && st.Nlink == 1 {
			_, err = f.WriteAt([]byte(s), 0)
			if err == nil && fi.Size() > int64(len(s)) {
				err = f.Truncate(int64(len(s)))
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		}
		f.Close()
	}
	if err := os.RemoveAll(path); err != nil {
		return err
	}
	f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
