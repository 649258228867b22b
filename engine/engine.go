// Package engine is the run state machine: given the jobs of a run and their
// statuses, it says which jobs become ready, which are skipped, and what the
// stages and the run add up to. It is pure (no I/O) so the server's store, the
// local runner and tests all apply exactly the same rules.
package engine

import lathe "github.com/lathe-ci/lathe"

// Node is one job of a run as the engine sees it.
type Node struct {
	ID     int64
	Name   string
	Status lathe.Status
	// Deps names the jobs this one waits for.
	Deps []string
	// AllowFailure lets the job fail without failing its stage and run, and
	// without skipping its dependents: for them it counts as a success.
	AllowFailure bool
	// Gated means the job waits for an approval once its dependencies are
	// met: it goes to waiting_for_approval instead of queued.
	Gated bool
}

// Outcome is the status a job counts as for its dependents and for the
// rollup of its stage and run: a failure it is allowed to have counts as a
// success. Its own status stays failed, so users see it.
func (n Node) Outcome() lathe.Status {
	if n.AllowFailure && failure(n.Status) {
		return lathe.StatusSuccess
	}
	return n.Status
}

// Released is the status a job goes to once nothing it needs holds it back
// (its dependencies met, or a user re-running it): waiting_for_approval when
// it is gated, queued otherwise. A re-run goes through here too, so no way
// of starting a job again walks past its gate.
func (n Node) Released() lathe.Status {
	if n.Gated {
		return lathe.StatusWaiting
	}
	return lathe.StatusQueued
}

// failure reports whether s is a way of failing (as opposed to being
// canceled or skipped, which an allowance does not cover).
func failure(s lathe.Status) bool {
	return s == lathe.StatusFailed || s == lathe.StatusTimedOut || s == lathe.StatusLost
}

// Advance returns the status changes that follow from the current statuses:
// a pending job whose dependencies all succeeded (see Node.Outcome) becomes
// queued, or waiting_for_approval when it is gated; a pending job with a
// dependency that ended any other way is skipped, and that skip propagates
// to its own dependents. canceled means the run is being canceled: every
// pending, waiting or queued job becomes canceled instead.
func Advance(nodes []Node, canceled bool) map[int64]lathe.Status {
	status := make(map[string]lathe.Status, len(nodes))
	for _, n := range nodes {
		status[n.Name] = n.Outcome()
	}
	changes := map[int64]lathe.Status{}
	set := func(n Node, s lathe.Status) {
		changes[n.ID] = s
		status[n.Name] = s
	}
	if canceled {
		for _, n := range nodes {
			if n.Status == lathe.StatusPending || n.Status == lathe.StatusQueued || n.Status == lathe.StatusWaiting {
				set(n, lathe.StatusCanceled)
			}
		}
		return changes
	}
	// Skips cascade down the DAG; iterate to a fixed point (bounded by the
	// number of jobs, since each pass settles at least one more job or stops).
	for pass := 0; pass <= len(nodes); pass++ {
		changed := false
		for _, n := range nodes {
			if status[n.Name] != lathe.StatusPending {
				continue
			}
			switch depsState(n.Deps, status) {
			case depsReady:
				set(n, n.Released())
				changed = true
			case depsBroken:
				set(n, lathe.StatusSkipped)
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	return changes
}

type depsResult int

const (
	depsWaiting depsResult = iota
	depsReady
	depsBroken
)

func depsState(deps []string, status map[string]lathe.Status) depsResult {
	ready := true
	for _, d := range deps {
		s := status[d]
		switch {
		case s == lathe.StatusSuccess:
		case s.Terminal():
			return depsBroken
		default:
			ready = false
		}
	}
	if ready {
		return depsReady
	}
	return depsWaiting
}

// Rollup is the status of a group (a stage or a whole run) made of things in
// the given statuses. While anything is unfinished the group is running (or
// pending/queued if nothing has started). Once all are finished: failed if
// any failed, timed out or was lost; else canceled if any was canceled; else
// success (a group of only skipped things is skipped).
func Rollup(statuses []lathe.Status) lathe.Status {
	if len(statuses) == 0 {
		return lathe.StatusSuccess
	}
	var pending, queued, waiting, active, finished, failed, canceled, skipped int
	for _, s := range statuses {
		switch s {
		case lathe.StatusPending:
			pending++
		case lathe.StatusQueued:
			queued++
		case lathe.StatusWaiting:
			waiting++
		case lathe.StatusRunning:
			active++
		case lathe.StatusFailed, lathe.StatusTimedOut, lathe.StatusLost:
			failed++
		case lathe.StatusCanceled:
			canceled++
		case lathe.StatusSkipped:
			skipped++
		}
		if s.Terminal() {
			finished++
		}
	}
	switch {
	case finished == len(statuses):
		switch {
		case failed > 0:
			return lathe.StatusFailed
		case canceled > 0:
			return lathe.StatusCanceled
		case skipped == len(statuses):
			return lathe.StatusSkipped
		}
		return lathe.StatusSuccess
	case active > 0 || finished > 0:
		return lathe.StatusRunning
	case queued > 0:
		return lathe.StatusQueued
	case waiting > 0:
		return lathe.StatusWaiting
	}
	return lathe.StatusPending
}
