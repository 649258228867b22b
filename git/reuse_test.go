package git

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// files lists the paths under dir, .git left out.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if rel != "." {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// A worktree a job left, with files it made, ignored ones, a tracked file
// changed and its .git replaced, is cleaned, moved and checked out at
// another commit: it then holds exactly that commit's files, git sees it
// clean at that commit, and RemoveWorktree leaves nothing of it.
func TestAWorktreeIsCleanedMovedAndCheckedOutAgain(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	write := func(dir, name, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn(t, src, "init", "-q", "-b", "main")
	write(src, "code.txt", "one\n")
	write(src, "gone.txt", "only in one\n")
	write(src, ".gitignore", "build/\n")
	gitIn(t, src, "add", ".")
	gitIn(t, src, "commit", "-q", "-m", "one")
	one := gitIn(t, src, "rev-parse", "HEAD")
	write(src, "code.txt", "two\n")
	write(src, "sub/new.txt", "new in two\n")
	gitIn(t, src, "rm", "-q", "gone.txt")
	gitIn(t, src, "add", ".")
	gitIn(t, src, "commit", "-q", "-m", "two")
	two := gitIn(t, src, "rev-parse", "HEAD")

	ctx := context.Background()
	m := (&Mirrors{Dir: filepath.Join(t.TempDir(), "mirrors")}).For(src)
	root := t.TempDir()
	ws1, idle, ws2 := filepath.Join(root, "ws", "1"), filepath.Join(root, "idle", "idle-x"), filepath.Join(root, "ws", "2")
	for _, d := range []string{filepath.Dir(ws1), filepath.Dir(idle)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Checkout(ctx, one, ws1); err != nil {
		t.Fatal(err)
	}
	// What the job does.
	write(ws1, "code.txt", "changed by the job\n")
	write(ws1, "made.txt", "made by the job\n")
	write(ws1, "build/out/bin", "ignored output\n")
	write(ws1, "nested/.git/config", "[core]\n")
	if err := os.Remove(filepath.Join(ws1, ".git")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(ws1, ".git")); err != nil {
		t.Fatal(err)
	}

	if err := m.CleanWorktree(ctx, ws1); err != nil {
		t.Fatal(err)
	}
	if err := m.MoveWorktree(ws1, idle); err != nil {
		t.Fatal(err)
	}
	if err := m.MoveWorktree(idle, ws2); err != nil {
		t.Fatal(err)
	}
	if err := m.CheckoutAgain(ctx, "refs/heads/main", two, ws2); err != nil {
		t.Fatal(err)
	}
	want := []string{".gitignore", "code.txt", "sub", "sub/new.txt"}
	if got := files(t, ws2); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("files %v; want %v", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(ws2, "code.txt")); string(b) != "two\n" {
		t.Errorf("code.txt = %q", b)
	}
	// The job's own git finds the worktree through .git again.
	if got := gitIn(t, ws2, "rev-parse", "HEAD"); got != two {
		t.Errorf("HEAD %s; want %s", got, two)
	}
	if st := gitIn(t, ws2, "status", "--porcelain", "--ignored"); st != "" {
		t.Errorf("git status:\n%s", st)
	}
	for _, p := range []string{ws1, idle, filepath.Join(m.Dir, "worktrees", "1"), filepath.Join(m.Dir, "worktrees", "idle-x")} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s is there (%v)", p, err)
		}
	}
	if err := m.RemoveWorktree(ws2); err != nil {
		t.Fatal(err)
	}
	if out := gitIn(t, m.Dir, "worktree", "list", "--porcelain"); strings.Contains(out, "worktree "+root) {
		t.Errorf("the mirror still lists a worktree:\n%s", out)
	}
}

// rewrite leaves exactly the new content, whether longer or shorter than
// the old, and replaces a link instead of writing where it points.
func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "gitdir")
	for _, s := range []string{"a long first line\n", "short\n", "longer than short again\n"} {
		if err := rewrite(p, s); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(p); err != nil || string(b) != s {
			t.Fatalf("after rewrite(%q): %q, %v", s, b, err)
		}
	}
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := rewrite(link, "new\n"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the link was not replaced by a file: %v, %v", fi, err)
	}
}
