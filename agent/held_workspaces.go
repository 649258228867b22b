package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lathe-ci/lathe/git"
)

// Held workspaces (autohold). When the server answers a failed attempt's
// finish with a time to keep its workspace until, the agent leaves the
// workspace in place and writes a record of it under held/, named for the
// attempt. The records outlive the agent process, so an agent restarted
// after the expiry still deletes what it kept: it sweeps at start, then
// wakes at the soonest expiry (or at least every heldCheck).

// heldCheck is the longest the janitor sleeps between sweeps.
const heldCheck = time.Minute

// heldSweepLimit bounds the workspaces one sweep deletes, so a backlog of
// expired workspaces is worked off over several sweeps instead of in one
// long pass.
const heldSweepLimit = 20

// heldRecord is what the agent remembers about a workspace it keeps.
type heldRecord struct {
	AttemptID int64     `json:"attempt_id"`
	Path      string    `json:"path"`
	RepoURL   string    `json:"repo_url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// heldWorkspaces keeps and, once they expire, deletes held workspaces.
type heldWorkspaces struct {
	dir     string // where the records are
	wsRoot  string // the only directory held workspaces may be in
	mirrors *git.Mirrors
	log     *slog.Logger
	kick    chan struct{} // a workspace was kept: its expiry may be the soonest
}

func newHeldWorkspaces(workDir string, mirrors *git.Mirrors, log *slog.Logger) (*heldWorkspaces, error) {
	root, err := filepath.Abs(workDir)
	if err != nil {
		return nil, fmt.Errorf("held workspaces: %w", err)
	}
	h := &heldWorkspaces{dir: filepath.Join(root, "held"), wsRoot: filepath.Join(root, "ws"), mirrors: mirrors, log: log,
		kick: make(chan struct{}, 1)}
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		return nil, fmt.Errorf("held workspaces: %w", err)
	}
	return h, nil
}

// Keep records that the attempt's workspace ws stays until until. The
// record is written whole (a temporary file renamed into place), so a crash
// never leaves half a record.
func (h *heldWorkspaces) Keep(attemptID int64, ws, repoURL string, until time.Time) error {
	if filepath.Dir(ws) != h.wsRoot {
		return fmt.Errorf("keep workspace %s: not in %s", ws, h.wsRoot)
	}
	b, err := json.Marshal(heldRecord{AttemptID: attemptID, Path: ws, RepoURL: repoURL, ExpiresAt: until})
	if err != nil {
		return err
	}
	name := filepath.Join(h.dir, strconv.FormatInt(attemptID, 10)+".json")
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("keep workspace %s: %w", ws, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keep workspace %s: %w", ws, err)
	}
	select {
	case h.kick <- struct{}{}:
	default:
	}
	return nil
}

// Run sweeps at once, then whenever the soonest kept workspace expires (at
// least every heldCheck), until ctx ends.
func (h *heldWorkspaces) Run(ctx context.Context) {
	for {
		wait := heldCheck
		if next := h.Sweep(time.Now()); !next.IsZero() {
			wait = min(wait, max(time.Until(next), 10*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-h.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// Sweep deletes up to heldSweepLimit workspaces that expired by now, with
// their records, and returns the soonest expiry among those left (zero when
// none). A workspace it cannot delete keeps its record and is tried again.
func (h *heldWorkspaces) Sweep(now time.Time) (next time.Time) {
	entries, err := os.ReadDir(h.dir)
	if err != nil {
		h.log.Warn("read held workspaces", "dir", h.dir, "err", err)
		return now.Add(heldCheck)
	}
	removed := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		name := filepath.Join(h.dir, e.Name())
		rec, err := h.read(name)
		if err != nil {
			h.log.Warn("unreadable held workspace record; deleting it", "file", name, "err", err)
			os.Remove(name)
			continue
		}
		if now.Before(rec.ExpiresAt) {
			if next.IsZero() || rec.ExpiresAt.Before(next) {
				next = rec.ExpiresAt
			}
			continue
		}
		if removed == heldSweepLimit {
			return now // more expired: sweep again at once
		}
		removed++
		if err := h.mirrors.For(rec.RepoURL).RemoveWorktree(rec.Path); err != nil {
			h.log.Warn("remove held workspace", "attempt_id", rec.AttemptID, "dir", rec.Path, "err", err)
			continue
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			h.log.Warn("remove held workspace record", "file", name, "err", err)
		}
		h.log.Info("held workspace expired and was deleted", "attempt_id", rec.AttemptID, "dir", rec.Path)
	}
	return next
}

// kept returns the absolute paths of the workspaces the records keep,
// expired or not (the janitor deletes expired ones, with their records).
func (h *heldWorkspaces) kept() (map[string]bool, error) {
	entries, err := os.ReadDir(h.dir)
	if err != nil {
		return nil, fmt.Errorf("held workspaces: %w", err)
	}
	paths := map[string]bool{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		if rec, err := h.read(filepath.Join(h.dir, e.Name())); err == nil {
			paths[filepath.Clean(rec.Path)] = true
		}
	}
	return paths, nil
}

// read loads a record, refusing one whose path is not a workspace of this
// agent: a record never makes the agent delete anything else.
func (h *heldWorkspaces) read(name string) (heldRecord, error) {
	var rec heldRecord
	b, err := os.ReadFile(name)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, err
	}
	if filepath.Dir(filepath.Clean(rec.Path)) != h.wsRoot {
		return rec, fmt.Errorf("path %q is not in %s", rec.Path, h.wsRoot)
	}
	return rec, nil
}
