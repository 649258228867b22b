package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/lathe-ci/lathe/internal/rmtree"
)

// source is what each job's workspace starts as: the run's directory as
// it is when the run starts. A job gets its own copy, as on an agent each
// job gets its own checkout, so files one job leaves behind are not there
// for the next one (jobs hand files on with upload and download).
//
// In a git repository's top level the copy is a git worktree of a
// snapshot commit: HEAD itself when the working tree is clean, otherwise a
// commit of the working tree as `git add -A` sees it (tracked files with
// their changes, new files that are not ignored) whose parent is HEAD. It
// lands in no branch and no index of the user's. Elsewhere (no git, or a
// directory below the top level) the files are copied: those git lists
// (`ls-files --cached --others --exclude-standard`), or every file when
// there is no git. Either way ignored files, such as build outputs, are
// not in a job's workspace, as they are not in a fresh checkout.
type source struct {
	dir string
	// top and commit are set for a worktree: the repository's top level
	// and the snapshot commit.
	top, commit string
	// common is the repository's common git directory when checkout may
	// write the worktrees' records itself (see addWorktree).
	common string
	// snapshot says the commit is not HEAD but a snapshot of changes.
	snapshot bool
	// files are the paths to copy otherwise, slash-separated, relative to dir.
	files []string
	// unreleased says a job's worktree record is left for prune.
	unreleased atomic.Bool
}

// pendingSource is the run's source while newSource takes it: the first
// jobs' sandboxes start meanwhile (a snapshot is two or three git
// processes, about as long as a sandbox takes to start), and their
// checkouts wait for it.
type pendingSource struct {
	done chan struct{}
	src  *source
	err  error
}

// startSource starts taking the run's source (newSource).
func startSource(ctx context.Context, dir string, rp repo) *pendingSource {
	p := &pendingSource{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.src, p.err = newSource(ctx, dir, rp)
	}()
	return p
}

// get waits for the source and returns it, or why there is none.
func (p *pendingSource) get() (*source, error) {
	<-p.done
	return p.src, p.err
}

// snapshotMessage is the snapshot commit's message.
const snapshotMessage = "lathe exec: the working tree's changes on top of HEAD"

// newSource takes the run's snapshot of dir. rp is what git said about dir.
func newSource(ctx context.Context, dir string, rp repo) (*source, error) {
	s := &source{dir: dir}
	if rp.top == "" {
		files, err := walkFiles(dir)
		if err != nil {
			return nil, err
		}
		s.files = files
		return s, nil
	}
	if !sameDir(rp.top, dir) {
		out, err := git(ctx, dir, nil, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--deduplicate", "--", ".")
		if err != nil {
			return nil, fmt.Errorf("list the files to copy into the jobs' workspaces: %w", err)
		}
		for _, p := range strings.Split(string(out), "\x00") {
			if p == "" || strings.HasPrefix(p, execDir+"/") {
				continue
			}
			// Deleted but still in the index: not in the working tree.
			if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(p))); err == nil {
				s.files = append(s.files, p)
			}
		}
		return s, nil
	}
	s.top = rp.top
	if common := commonDir(rp.gitDir); plainWorktrees(common) {
		s.common = common
	}
	// HEAD's tree, when git must be asked for it, is looked up while the
	// working tree's is written: the two git processes overlap.
	headTree := make(chan string, 1)
	go func() { headTree <- rp.headTree(ctx) }()
	tree, err := s.workingTree(ctx, rp)
	head := <-headTree
	if err != nil {
		return nil, fmt.Errorf("snapshot the working tree: %w", err)
	}
	if rp.commit != "" && tree == head {
		s.commit = rp.commit
		return s, nil
	}
	args := []string{"commit-tree", "-m", snapshotMessage, tree}
	if rp.commit != "" {
		args = append(args, "-p", rp.commit)
	}
	// The snapshot is the user's own work: their name when git has one,
	// Lathe's otherwise, so commit-tree never stops to ask.
	who := []string{"GIT_AUTHOR_NAME=lathe exec", "GIT_AUTHOR_EMAIL=exec@lathe.invalid",
		"GIT_COMMITTER_NAME=lathe exec", "GIT_COMMITTER_EMAIL=exec@lathe.invalid"}
	out, err := git(ctx, s.top, who, args...)
	if err != nil {
		return nil, fmt.Errorf("snapshot the working tree: %w", err)
	}
	s.commit, s.snapshot = strings.TrimSpace(string(out)), true
	return s, nil
}

// workingTree writes the working tree's tree object through a copy of the
// index, leaving the user's index as it was, and returns its ID.
func (s *source) workingTree(ctx context.Context, rp repo) (string, error) {
	// The copy is named in a directory of its own, not made by CreateTemp:
	// without an index to copy (a fresh `git init` where nothing was ever
	// added) it must not exist, as git reads an empty file as a broken
	// index.
	tmp, err := os.MkdirTemp("", "lathe-exec-index-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	index := filepath.Join(tmp, "index")
	// Starting from the index keeps its stat data, so git add hashes only
	// the files that changed.
	if err := copyIndex(filepath.Join(rp.gitDir, "index"), index); err != nil {
		return "", err
	}
	env := []string{"GIT_INDEX_FILE=" + index}
	if _, err := git(ctx, s.top, env, "add", "-A", "--", ".", ":(exclude)"+execDir); err != nil {
		return "", err
	}
	out, err := git(ctx, s.top, env, "write-tree")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// copyIndex copies the index from to to, or does nothing when there is
// no index yet.
func copyIndex(from, to string) error {
	src, err := os.Open(from)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// describe says, for the run's first line, what the jobs start from.
func (s *source) describe(rp repo) string {
	switch {
	case s.commit != "" && s.snapshot:
		return fmt.Sprintf("each job checked out %.12s: your uncommitted changes on top of %s", s.commit, headName(rp))
	case s.commit != "":
		return fmt.Sprintf("each job checked out %s", headName(rp))
	}
	if len(s.files) == 1 {
		return "each job got its own copy of the directory's 1 file"
	}
	return fmt.Sprintf("each job got its own copy of the directory's %d files", len(s.files))
}

// headName is HEAD as people say it: "main at 1a2b3c4d5e6f".
func headName(rp repo) string {
	switch {
	case rp.commit == "":
		return "an unborn branch"
	case rp.branch != "":
		return fmt.Sprintf("%s at %.12s", rp.branch, rp.commit)
	case rp.tag != "":
		return fmt.Sprintf("tag %s at %.12s", rp.tag, rp.commit)
	}
	return fmt.Sprintf("%.12s", rp.commit)
}

// checkout fills the empty (or missing) directory ws with the source.
func (s *source) checkout(ctx context.Context, ws string) error {
	if s.commit != "" {
		var err error
		if s.common != "" {
			err = addWorktree(ctx, s.common, ws, s.commit)
		} else {
			// No hooks: a checkout for a job runs nothing of the user's.
			_, err = git(ctx, s.top, nil, "-c", "core.hooksPath=/dev/null", "worktree", "add", "--detach", "--force", "--quiet", ws, s.commit)
		}
		if err != nil {
			return fmt.Errorf("check out %.12s into %s: %w", s.commit, ws, err)
		}
		return nil
	}
	return copyFiles(s.dir, ws, s.files)
}

// release deletes the workspace ws that checkout filled, and for a
// worktree git's record of it (what `git worktree remove` deletes, and
// Mirror.RemoveWorktree on an agent), named in its .git file: deleting it
// here spares the run a `git worktree prune` process at its end. It
// reports false when a worktree's record was not found, which prune then
// drops.
func (s *source) release(ws string) bool {
	if s.commit == "" {
		rmtree.RemoveAll(ws)
		return true
	}
	record, ok := worktreeRecord(ws)
	rmtree.RemoveAll(ws)
	if !ok {
		return false
	}
	return rmtree.RemoveAll(record) == nil
}

// worktreeRecord is git's record of the worktree ws, as its .git file
// names it, when that is a record of a repository's worktrees.
func worktreeRecord(ws string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(ws, ".git"))
	record, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
	if err != nil || !ok || !filepath.IsAbs(record) || filepath.Base(filepath.Dir(record)) != "worktrees" {
		return "", false
	}
	return record, true
}

// prune drops git's records of worktrees that are gone, when release could
// not drop one of the run's.
func (s *source) prune(ctx context.Context) {
	if s.commit != "" && s.unreleased.Load() {
		git(context.WithoutCancel(ctx), s.top, nil, "worktree", "prune")
	}
}

// walkFiles lists the files and links under dir, leaving out .git and the
// exec directory.
func walkFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" || rel == execDir {
				return fs.SkipDir
			}
			return nil
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the files to copy into the jobs' workspaces: %w", err)
	}
	return files, nil
}

// copyFiles copies files (relative to from) into to, with their
// permissions; a symbolic link is copied as a link. A listed file that is
// gone (deleted but still in git's index) is left out.
func copyFiles(from, to string, files []string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	for _, rel := range files {
		src, dst := filepath.Join(from, filepath.FromSlash(rel)), filepath.Join(to, filepath.FromSlash(rel))
		fi, err := os.Lstat(src)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(src)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(src, dst, fi.Mode().Perm()); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// sameDir reports whether a and b are the same directory.
func sameDir(a, b string) bool {
	if a == b {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
