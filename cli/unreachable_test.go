package cli_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A command whose server does not answer says so in words, naming the
// address and where it came from, not Go's dial error.
func TestNoServerAnswersSaysSo(t *testing.T) {
	bin := lathetest.Binary(t)
	addr := lathetest.FreeAddr(t)
	out, err := exec.Command(bin, "runs", "--server", "http://"+addr, "--token", "lathe_x").CombinedOutput()
	want := "lathe: no Lathe server answers at " + addr + ": connection refused (is it running? check --server or LATHE_SERVER)"
	if err == nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("lathe runs with no server: %v\n%s\nwant %s", err, out, want)
	}
}
