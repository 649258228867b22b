package git

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A checkout is a worktree of the mirror at the commit, fetched when the
// mirror lacks it, with no reflog to write and delete; RemoveWorktree
// leaves nothing of it, in the workspace or the mirror.
func TestCheckoutAndRemoveWorktree(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	gitIn(t, src, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(src, "code.txt"), []byte("code\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, src, "add", "code.txt")
	gitIn(t, src, "commit", "-q", "-m", "one")
	head := gitIn(t, src, "rev-parse", "HEAD")

	m := (&Mirrors{Dir: filepath.Join(t.TempDir(), "mirrors")}).For(src)
	ws := filepath.Join(t.TempDir(), "17")
	if err := m.Checkout(context.Background(), head, ws); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(ws, "code.txt")); err != nil || string(b) != "code\n" {
		t.Fatalf("code.txt = %q, %v", b, err)
	}
	if got := gitIn(t, ws, "rev-parse", "HEAD"); got != head {
		t.Errorf("the workspace is at %s; want %s", got, head)
	}
	admin := filepath.Join(m.Dir, "worktrees", "17")
	if _, err := os.Stat(filepath.Join(admin, "logs")); !os.IsNotExist(err) {
		t.Errorf("the worktree has a reflog (%v)", err)
	}
	if err := m.RemoveWorktree(ws); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ws, admin} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", p, err)
		}
	}
}
