package cli_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A run ID that is not one is refused in words (exit 1) by every command
// that takes a RUN; no argument at all shows the usage (exit 2).
func TestARunArgumentThatIsNotARunID(t *testing.T) {
	bin := lathetest.Binary(t)
	for _, cmd := range []string{"logs", "status", "history", "tests", "promote"} {
		out, err := exec.Command(bin, cmd, "abc", "--server", "http://127.0.0.1:1", "--token", "lathe_x").CombinedOutput()
		if code := exitCode(err); code != 1 || !strings.Contains(string(out), `"abc" is not a run ID`) {
			t.Errorf("lathe %s abc: exit %d\n%s", cmd, code, out)
		}
		out, err = exec.Command(bin, cmd, "--server", "http://127.0.0.1:1", "--token", "lathe_x").CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), "Usage:") {
			t.Errorf("lathe %s with no run: exit %d\n%s", cmd, code, out)
		}
	}
}

func exitCode(err error) int {
	if e, ok := err.(*exec.ExitError); ok {
		return e.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
