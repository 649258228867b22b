package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// The README's quickstart, as a new user types it: the built binary's
// `lathe up` with its defaults (data in ./.lathe, embedded agents) in an
// empty directory, then `lathe project create` and `lathe run --follow`
// from the same directory, which find the admin token on their own.
func TestQuickstartAsTheReadmeSaysIt(t *testing.T) {
	bin := lathetest.Binary(t)
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  hello:\n    steps: [echo hello from the quickstart]\n"})
	t.Chdir(t.TempDir())
	addr := lathetest.FreeAddr(t)
	up := lathetest.StartProcess(t, bin, "up", "--addr", addr)
	url := "http://" + addr
	waitFor(t, 30*time.Second, "lathe up to write its admin token", func() bool {
		b, err := os.ReadFile(filepath.Join(".lathe", "admin.token"))
		return err == nil && len(b) > 0 && strings.Contains(up.Output.String(), url)
	})
	lathe := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append(args, "--server", url)...)
		cmd.Env = append(os.Environ(), "LATHE_TOKEN=", "LATHE_SERVER=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := lathe("project", "create", "demo", repo); err != nil {
		t.Fatalf("lathe project create: %v\n%s", err, out)
	}
	out, err := lathe("run", "demo", "--follow")
	if err != nil || !strings.Contains(out, "hello from the quickstart") || !strings.Contains(out, "success") {
		t.Errorf("lathe run demo --follow: %v\n%s", err, out)
	}
	up.Signal(t, syscall.SIGTERM)
	if code := up.Wait(t, 30*time.Second); code != 0 {
		t.Errorf("lathe up exited %d after SIGTERM; output:\n%s", code, up.Output.String())
	}
}
