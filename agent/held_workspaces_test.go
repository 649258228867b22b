package agent

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/git"
)

func TestHeldWorkspacesAreDeletedWhenTheyExpire(t *testing.T) {
	work := t.TempDir()
	mirrors := &git.Mirrors{Dir: filepath.Join(work, "git")}
	h, err := newHeldWorkspaces(work, mirrors, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ws := func(id int) string {
		dir := filepath.Join(work, "ws", strconv.Itoa(id))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	soon, later := ws(1), ws(2)
	if err := h.Keep(1, soon, "file:///repo", now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := h.Keep(2, later, "file:///repo", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := h.Keep(3, t.TempDir(), "file:///repo", now.Add(time.Second)); err == nil {
		t.Error("kept a directory outside the agent's workspaces")
	}

	if next := h.Sweep(now); !next.Equal(now.Add(time.Second)) {
		t.Errorf("sweep before any expiry: next = %v, want the sooner expiry", next)
	}
	for _, dir := range []string{soon, later} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s deleted before it expired: %v", dir, err)
		}
	}

	if next := h.Sweep(now.Add(2 * time.Second)); !next.Equal(now.Add(time.Hour)) {
		t.Errorf("sweep after the first expiry: next = %v, want the later expiry", next)
	}
	if _, err := os.Stat(soon); !os.IsNotExist(err) {
		t.Errorf("expired workspace still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(work, "held", "1.json")); !os.IsNotExist(err) {
		t.Errorf("record of the deleted workspace still there: %v", err)
	}

	// A record naming a directory outside the workspaces never deletes it.
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "held", "9.json"),
		[]byte(`{"attempt_id":9,"path":"`+outside+`","expires_at":"2000-01-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h.Sweep(now.Add(2 * time.Hour))
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("a forged record deleted %s: %v", outside, err)
	}
	if _, err := os.Stat(later); !os.IsNotExist(err) {
		t.Errorf("second workspace still there after it expired: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(work, "held", "*")); len(left) != 0 {
		t.Errorf("records left: %v", left)
	}
}
