package executor_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// Run as a normal user, the sandbox keeps a step from what that user can
// read outside (a hidden directory of its own), through bubblewrap's user
// namespace, and the step runs as that user. The test re-executes its own
// binary as nobody; it needs root to do that.
func TestSandboxAsANormalUser(t *testing.T) {
	if _, err := executor.FindBwrap(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if dir := lathetest.AsNobody(t, "LATHE_TEST_SANDBOX_USER_DIR"); dir != "" {
		sandboxAsNormalUserChild(t, dir)
	}
}

func sandboxAsNormalUserChild(t *testing.T, dir string) {
	hidden, ws, home, ctl := filepath.Join(dir, "hidden"), filepath.Join(dir, "ws"), filepath.Join(dir, "home"), filepath.Join(dir, "ctl")
	for _, d := range []string{hidden, ws, home, ctl} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(hidden, "credential"), []byte("the-users-own-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	ex, err := executor.New(executor.Options{Hide: []string{hidden}})
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	job, err := ex.Start(context.Background(), executor.Spec{Workspace: ws, Home: home, Control: ctl, Env: executor.BaseEnv(home, nil), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	code, err := job.Run(context.Background(), executor.Step{Script: "id -u; grep CapEff /proc/self/status; cat " + hidden + "/credential || true; echo x > made", Output: log})
	if err != nil || code != 0 {
		t.Fatalf("step: %d %v", code, err)
	}
	b, _ := os.ReadFile(log.Name())
	if strings.Contains(string(b), "the-users-own-secret") {
		t.Errorf("the step read the hidden file:\n%s", b)
	}
	if !strings.HasPrefix(string(b), "65534\nCapEff:\t0000000000000000\n") {
		t.Errorf("the step ran as %q; want the user, without capabilities", b)
	}
	if _, err := os.Stat(filepath.Join(ws, "made")); err != nil {
		t.Errorf("the step could not write its workspace: %v", err)
	}
}
