package cli_test

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

// `lathe up --addr A --data D` prints commands that work as printed: run
// by a shell from the directory lathe up started in, they reach that server.
func TestUpPrintsCommandsThatWork(t *testing.T) {
	bin := lathetest.Binary(t)
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  hello:\n    steps: [echo hello from try]\n"})
	dir := t.TempDir()
	t.Chdir(dir)
	up := lathetest.StartProcess(t, bin, "up", "--addr", "127.0.0.1:0", "--data", "state")
	for i := 0; i < 600 && !strings.Contains(up.Output.String(), "Try: "); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	var script []string
	for _, line := range strings.Split(up.Output.String(), "\n") {
		if s, ok := strings.CutPrefix(line, "First: "); ok {
			script = append(script, s)
		}
		if s, ok := strings.CutPrefix(line, "Try: "); ok {
			script = append(script, strings.ReplaceAll(strings.ReplaceAll(s, "GIT_URL", repo), "NAME", "demo"))
		}
	}
	if len(script) != 2 || !strings.Contains(script[0], "LATHE_SERVER=") {
		t.Fatalf("lathe up printed no export of LATHE_SERVER before Try:\n%s", up.Output.String())
	}
	sh := exec.Command("sh", "-e", "-c", strings.Join(script, "\n"))
	sh.Dir = dir
	sh.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"), "LATHE_SERVER=", "LATHE_TOKEN=",
		"LATHE_CONFIG="+filepath.Join(t.TempDir(), "none.json"))
	out, err := sh.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "[hello] hello from try") {
		t.Errorf("the printed commands failed: %v\n%s\nscript:\n%s", err, out, strings.Join(script, "\n"))
	}
	up.Signal(t, syscall.SIGINT)
	up.Wait(t, time.Minute)
}
