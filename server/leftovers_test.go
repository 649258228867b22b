package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/server"
)

// An agent killed with SIGKILL mid-job leaves its attempt's workspace and
// log spool behind; when it starts again it removes them (a kill -9 loop
// used to leave one of each per kill), but keeps a workspace a hold keeps.
func TestRestartedAgentRemovesWhatItsKilledAttemptLeft(t *testing.T) {
	bin := lathetest.Binary(t)
	l := startLifecycle(t, lathetest.Options{}, server.Config{LeaseTTL: 2 * time.Second, SweepInterval: 200 * time.Millisecond, InfraRetries: -1})
	l.Project(t, "left", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  hang:
    runs-on: [left]
    steps:
      - echo started; sleep 300
`}))
	reg := l.RegistrationToken(t)
	workDir := t.TempDir()
	// A workspace an earlier hold keeps, until long after the test.
	heldWS := filepath.Join(workDir, "ws", "999999")
	if err := os.MkdirAll(heldWS, 0o755); err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(map[string]any{"attempt_id": 999999, "path": heldWS, "repo_url": "/nowhere", "expires_at": time.Now().Add(time.Hour)})
	if err := os.MkdirAll(filepath.Join(workDir, "held"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(workDir, "held", "999999.json"), rec, 0o600); err != nil {
		t.Fatal(err)
	}

	agent := agentProcessIn(t, l, bin, reg, "left-1", workDir, "left")
	run := l.Trigger(t, "left", "", "")
	jobID := run.Jobs[0].ID
	var attemptID int64
	waitFor(t, 30*time.Second, "the step runs", func() bool {
		j := l.Job(t, jobID)
		if len(j.Attempts) == 0 || j.Attempts[0].Status != lathe.StatusRunning {
			return false
		}
		attemptID = j.Attempts[0].ID
		return len(l.Log(t, jobID)) > 0 && len(j.Attempts[0].Steps) > 1 && j.Attempts[0].Steps[1].Status == lathe.StatusRunning
	})
	ws := filepath.Join(workDir, "ws", strconv.FormatInt(attemptID, 10))
	spool := filepath.Join(workDir, "logs", strconv.FormatInt(attemptID, 10)+".log")
	agent.Signal(t, syscall.SIGKILL)
	agent.Wait(t, 10*time.Second)
	for _, p := range []string{ws, spool} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the killed agent should have left %s: %v", p, err)
		}
	}

	agentProcessIn(t, l, bin, reg, "left-1", workDir, "left")
	waitFor(t, 30*time.Second, "the restarted agent removes the workspace and spool", func() bool {
		_, errWS := os.Stat(ws)
		_, errSpool := os.Stat(spool)
		return os.IsNotExist(errWS) && os.IsNotExist(errSpool)
	})
	if _, err := os.Stat(heldWS); err != nil {
		t.Errorf("the held workspace should stay until its hold expires: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(workDir, "git")); len(entries) > 0 {
		mirror := filepath.Join(workDir, "git", entries[0].Name())
		if _, err := os.Stat(filepath.Join(mirror, "worktrees", strconv.FormatInt(attemptID, 10))); !os.IsNotExist(err) {
			t.Errorf("the mirror still records the removed worktree (err %v)", err)
		}
	}
}
