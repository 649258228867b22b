package lathetest

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// AsNobody runs the calling test again, in a copy of the test binary, as
// the user nobody, with a directory nobody owns named in the environment
// variable env. In that copy it returns the directory, and the test does
// its part as nobody; in the test that started it, it returns "" once the
// copy passed, and fails the test with the copy's output when it did not.
// It skips when not run as root, which starting another user needs.
func AsNobody(t *testing.T, env string) string {
	t.Helper()
	if dir := os.Getenv(env); dir != "" {
		return dir
	}
	if os.Geteuid() != 0 {
		t.Skip("runs as root, to start itself as nobody")
	}
	// Not t.TempDir: its parent is private to root.
	root, err := os.MkdirTemp("", "lathe-as-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, filepath.Base(os.Args[0]))
	copyExecutable(t, os.Args[0], bin)
	dir := filepath.Join(root, "work")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = []string{env + "=" + dir, "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	return ""
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
