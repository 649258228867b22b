package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/rmtree"
)

// removeLeftovers deletes, at start, what attempts of an earlier life of
// the agent left behind: first the processes their steps left running (a
// sandbox dies with its agent on its own; the shell executor's process
// groups are killed here, from the records in their job directories), then
// their job directories under jobs/, their workspaces under ws/ and their
// log spools under logs/. An agent that dies (kill -9, a crash, a power cut) never
// reaches the end of runJob, where both are normally removed, and a restart
// loop would otherwise fill the disk. Nothing there belongs to a live
// attempt: the agent runs one attempt at a time and starts none before this
// runs, and a spool is never resumed (the server hands a lost attempt's job
// to a new attempt, with a new spool). Workspaces a hold keeps are left to
// the held-workspace janitor, which deletes them when they expire.
func (a *Agent) removeLeftovers(held *heldWorkspaces) error {
	kept, err := held.kept()
	if err != nil {
		return err
	}
	var errs []error
	controls, _ := filepath.Glob(filepath.Join(a.WorkDir, "jobs", "*", "control"))
	for _, d := range controls {
		if n := executor.KillRecorded(d); n > 0 {
			a.Log.Warn("killed what an earlier run of this agent left running", "agent", a.Name, "dir", filepath.Dir(d), "process_groups", n)
		}
	}
	if err := rmtree.RemoveAll(filepath.Join(a.WorkDir, "jobs")); err != nil {
		errs = append(errs, err)
	}
	wsRoot := filepath.Join(a.WorkDir, "ws")
	for _, name := range dirNames(wsRoot, &errs) {
		ws := filepath.Join(wsRoot, name)
		if abs, err := filepath.Abs(ws); err == nil && kept[abs] {
			continue
		}
		if err := a.removeWorkspace(ws); err != nil {
			errs = append(errs, err)
			continue
		}
		a.Log.Info("removed the workspace of an attempt that ended while the agent was down", "agent", a.Name, "dir", ws)
	}
	idle := filepath.Join(a.WorkDir, "idle")
	for _, name := range dirNames(idle, &errs) {
		if err := a.removeWorkspace(filepath.Join(idle, name)); err != nil {
			errs = append(errs, err)
		}
	}
	logs := filepath.Join(a.WorkDir, "logs")
	for _, name := range dirNames(logs, &errs) {
		if err := os.Remove(filepath.Join(logs, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove what earlier attempts left: %w", err)
	}
	return nil
}

// removeWorkspace deletes a workspace and the record its mirror keeps of it
// (a worktree's .git file names that record: "gitdir: <mirror>/worktrees/<name>").
// A record outside this agent's mirrors is never touched.
func (a *Agent) removeWorkspace(ws string) error {
	if b, err := os.ReadFile(filepath.Join(ws, ".git")); err == nil {
		gitdir := strings.TrimSpace(strings.TrimPrefix(string(b), "gitdir:"))
		mirrors, _ := filepath.Abs(a.mirrors.Dir)
		if rel, err := filepath.Rel(mirrors, filepath.Clean(gitdir)); err == nil && !strings.HasPrefix(rel, "..") &&
			filepath.Base(filepath.Dir(gitdir)) == "worktrees" {
			rmtree.RemoveAll(gitdir)
		}
	}
	return rmtree.RemoveAll(ws)
}

// dirNames lists dir's entries, adding a failure to errs.
func dirNames(dir string, errs *[]error) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		*errs = append(*errs, err)
		return nil
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names
}
