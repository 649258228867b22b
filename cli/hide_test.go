package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// readableDir makes a directory with a file any user may read, where a
// sandboxed step would see it unless it is hidden: not under /tmp (private
// to each job) nor in a test's own temporary directory (private to its
// user), so under /var/lib. It skips where that cannot be written.
func readableDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/lib", "lathe-test-"+name+"-")
	if err != nil {
		t.Skipf("a directory outside /tmp, for a step to find or not: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(name+"-content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A sandboxed agent's steps do not see the home directory of the user the
// agent runs as (its SSH keys, cloud credentials, Lathe's own logins), nor
// what --hide names, such as the data directory of a server on the same
// machine; --show-home shows the home again, for a toolchain kept there.
func TestAgentHidesItsHomeAndWhatItIsTold(t *testing.T) {
	lathetest.NeedSandbox(t)
	bin := lathetest.Binary(t)
	home, other := readableDir(t, "home"), readableDir(t, "other")
	t.Setenv("HOME", home)
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	step := fmt.Sprintf("cat %s/secret || echo home-hidden; cat %s/secret || echo other-hidden", home, other)
	l.Project(t, "peek", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  peek:\n    runs-on: [proc]\n    steps: ['" + step + "']\n"}))
	reg := l.RegistrationToken(t)
	for _, c := range []struct {
		name  string
		extra []string
		want  []string
	}{
		{"default", []string{"--hide", other}, []string{"home-hidden", "other-hidden"}},
		{"show-home", []string{"--show-home"}, []string{"home-content", "other-content"}},
	} {
		p := lathetest.StartProcess(t, bin, agentArgs(l, t.TempDir(), append([]string{"--token", reg, "--name", c.name}, c.extra...)...)...)
		r := l.Wait(t, l.Trigger(t, "peek", "", "").ID, time.Minute)
		if r.Status != lathe.StatusSuccess {
			t.Fatalf("%s: run %s; agent:\n%s", c.name, r.Status, p.Output.String())
		}
		log := l.Log(t, r.Jobs[0].ID)
		for _, want := range c.want {
			if !strings.Contains(log, want) {
				t.Errorf("%s: the job's log has no %q:\n%s", c.name, want, log)
			}
		}
		p.Signal(t, syscall.SIGINT)
		p.Wait(t, 30*time.Second)
	}
}
