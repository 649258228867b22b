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

// A later start says where the admin token is: in the data directory when
// the first start left it there, else with the server that set the
// database up (never a file that is not there).
func TestLaterStartSaysWhereTheAdminTokenIs(t *testing.T) {
	bin := lathetest.Binary(t)
	data := filepath.Join(t.TempDir(), "state")
	start := func(want string) {
		t.Helper()
		srv := lathetest.StartProcess(t, bin, "server", "--addr", "127.0.0.1:0", "--data", data)
		for i := 0; i < 600 && !strings.Contains(srv.Output.String(), "Admin API token: "); i++ {
			time.Sleep(100 * time.Millisecond)
		}
		srv.Signal(t, syscall.SIGINT)
		srv.Wait(t, time.Minute)
		if !strings.Contains(srv.Output.String(), want) {
			t.Errorf("lathe server printed:\n%s\nwant %q", srv.Output.String(), want)
		}
	}
	start("(also in " + data + "/admin.token)")
	start("Admin API token: the one printed at the database's first start (also in " + filepath.Join(data, "admin.token") + ")")
	if err := os.Remove(filepath.Join(data, "admin.token")); err != nil {
		t.Fatal(err)
	}
	start("(not kept in " + data + ";")
}
