package rmtree_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/internal/rmtree"
)

// As a user that is not root, RemoveAll removes a tree holding directories
// that user made unwritable (0555, as Go's module cache does, and 0000),
// where os.RemoveAll gives up, and changes nothing a link in it leads to.
// The test runs its own binary again as nobody; it needs root for that.
func TestRemoveAllRemovesWhatItsUserMadeUnwritable(t *testing.T) {
	if work := lathetest.AsNobody(t, "LATHE_TEST_RMTREE_DIR"); work != "" {
		removeAsNobody(t, work)
	}
}

// removeAsNobody makes the tree, checks os.RemoveAll fails on it, and
// that RemoveAll removes it and leaves the link's target as it was.
func removeAsNobody(t *testing.T, work string) {
	outside := filepath.Join(work, "outside")
	tree := filepath.Join(work, "tree")
	for _, d := range []string{outside, filepath.Join(tree, "mod", "pkg@v1", "sub"), filepath.Join(tree, "closed")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(tree, "mod", "pkg@v1", "sub", "a.go"), filepath.Join(tree, "closed", "f")} {
		if err := os.WriteFile(f, []byte("x"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(tree, "mod", "link")); err != nil {
		t.Fatal(err)
	}
	for d, mode := range map[string]os.FileMode{
		filepath.Join(tree, "mod", "pkg@v1", "sub"): 0o555, filepath.Join(tree, "mod", "pkg@v1"): 0o555,
		filepath.Join(tree, "mod"): 0o555, filepath.Join(tree, "closed"): 0, outside: 0o500,
	} {
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(tree); err == nil {
		t.Fatal("os.RemoveAll removed the tree: the test shows nothing")
	}
	if err := rmtree.RemoveAll(tree); err != nil {
		t.Fatalf("RemoveAll: %v", err)
	}
	if _, err := os.Lstat(tree); !os.IsNotExist(err) {
		t.Fatalf("the tree is still there: %v", err)
	}
	if fi, err := os.Stat(outside); err != nil || fi.Mode().Perm() != 0o500 {
		t.Fatalf("the link's target: %v, %v; want it left 0500", fi.Mode(), err)
	}
}
