package rmtree

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// childDirEnv names the directory the test binary, run again as nobody,
// works in.
const childDirEnv = "LATHE_TEST_RMTREE_DIR"

// As a user that is not root, RemoveAll removes a tree holding directories
// that user made unwritable (0555, as Go's module cache does, and 0000),
// where os.RemoveAll gives up, and changes nothing a link in it leads to.
// The test runs its own binary again as nobody; it needs root for that.
func TestRemoveAllRemovesWhatItsUserMadeUnwritable(t *testing.T) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		removeAsNobody(t, dir)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("runs as root, to start itself as nobody")
	}
	// Not t.TempDir: its parent is private to root.
	root, err := os.MkdirTemp("", "lathe-rmtree-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "rmtree.test")
	copyExecutable(t, os.Args[0], bin)
	work := filepath.Join(root, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(work, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestRemoveAllRemovesWhatItsUserMadeUnwritable$", "-test.v")
	cmd.Env = []string{childDirEnv + "=" + work}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("as nobody: %v\n%s", err, out)
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
	if err := RemoveAll(tree); err != nil {
		t.Fatalf("RemoveAll: %v", err)
	}
	if _, err := os.Lstat(tree); !os.IsNotExist(err) {
		t.Fatalf("the tree is still there: %v", err)
	}
	if fi, err := os.Stat(outside); err != nil || fi.Mode().Perm() != 0o500 {
		t.Fatalf("the link's target: %v, %v; want it left 0500", fi.Mode(), err)
	}
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
