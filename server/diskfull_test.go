package server_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/diskspace"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// smallDisk mounts a tmpfs of size (e.g. "2m") on a new directory and
// unmounts it when the test ends (after everything the test starts later
// has stopped). Mounting needs root; without it the test is skipped.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs to fill needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file into dir until its disk is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			return path
		}
	}
}

// A step fills the agent's disk: the job fails, and instead of only the
// step's own "write error" the attempt's end reason and the last line of
// its log say "infrastructure: no space left on device".
func TestFullAgentDiskIsNamedInTheLogAndEndReason(t *testing.T) {
	workDir := smallDisk(t, "2m")
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.StartAgent(t, l.RegistrationToken(t), "small", workDir, "small")
	l.Project(t, "full", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  fill:
    runs-on: [small]
    steps:
      - head -c 8000000 /dev/zero > big; echo never
`}))
	run := l.Wait(t, l.Trigger(t, "full", "", "").ID, 60*time.Second)
	j := l.Job(t, run.Jobs[0].ID)
	if j.Status != lathe.StatusFailed || len(j.Attempts) != 1 {
		t.Fatalf("job: %s with %d attempts; want failed once", j.Status, len(j.Attempts))
	}
	if got := j.Attempts[0].EndReason; got != diskspace.Reason {
		t.Errorf("end reason %q, want %q", got, diskspace.Reason)
	}
	if log := l.Log(t, j.ID); !strings.HasSuffix(log, "lathe: "+diskspace.Reason+"\n") {
		t.Errorf("the log's tail should name the full disk:\n%s", log)
	}
}

// The server's disk (data directory: database, mirrors, uploads) fills up:
// /readyz says so, and a trigger answers 503 with Retry-After naming it,
// instead of failing somewhere in git or SQLite. Freed, both work again.
func TestFullServerDiskAnswers503(t *testing.T) {
	dataDir := smallDisk(t, "16m")
	l := lathetest.Start(t, lathetest.Options{DataDir: dataDir, Agents: -1})
	l.Project(t, "full", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps: [echo hi]\n"}))
	filler := fill(t, dataDir)

	resp := post(t, l, "/api/v1/projects/full/runs", `{}`)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("trigger on a full disk: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, body := readyz(t, l); code != http.StatusServiceUnavailable || !strings.Contains(body, "no space left on device") {
		t.Errorf("/readyz on a full disk: %d %s; want 503 naming the full disk", code, body)
	}
	// A write the database cannot store (SQLite: "database or disk is full").
	if resp := post(t, l, "/api/v1/projects", `{"name": "more", "url": "https://example.invalid/more.git"}`); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("creating a project on a full disk: %d; want 503", resp.StatusCode)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, body := readyz(t, l); code != http.StatusOK {
		t.Errorf("/readyz once space is freed: %d %s", code, body)
	}
	l.Trigger(t, "full", "", "")
}

func readyz(t *testing.T, l *lathetest.Lathe) (int, string) {
	t.Helper()
	resp, err := lathetest.HTTPClient(t).Get(l.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
