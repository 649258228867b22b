// Package engine is the run state machine: given the jobs of a run and their
// statuses, it says which jobs become ready, which are skipped, and what the
// stages and the run add up to. It is pure (no I/O) so the server's store, the
// local runner and tests all apply exactly the same rules.
package engine

import (
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

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
	// External marks the node of an external stage (see ExternalUpdate):
	// an outside tool moves it, so Advance never releases it; it only
	// skips it when what it follows did not succeed, and cancels it with
	// its run.
	External bool
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
	changes := map[int64]lathe.Status{}
	if canceled {
		for _, n := range nodes {
			if n.Status == lathe.StatusPending || n.Status == lathe.StatusQueued || n.Status == lathe.StatusWaiting ||
				n.External && n.Status == lathe.StatusRunning {
				changes[n.ID] = lathe.StatusCanceled
			}
		}
		return changes
	}
	// Each job is decided once, after the jobs it needs (a depth-first walk
	// in dependency order): linear in jobs and needs, so a run of a
	// thousand jobs costs a thousand steps, not a million.
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		index[n.Name] = i
	}
	const (
		unseen = iota
		visiting
		decided
	)
	state := make([]uint8, len(nodes))
	outcome := make([]lathe.Status, len(nodes))
	var decide func(i int) lathe.Status
	decide = func(i int) lathe.Status {
		switch state[i] {
		case decided:
			return outcome[i]
		case visiting: // a cycle (the linter refuses them): wait forever
			return lathe.StatusPending
		}
		state[i] = visiting
		n := nodes[i]
		s := n.Outcome()
		if n.Status == lathe.StatusPending {
			switch depsState(n.Deps, func(name string) lathe.Status {
				if j, ok := index[name]; ok {
					return decide(j)
				}
				return lathe.StatusPending
			}) {
			case depsReady:
				if !n.External {
					s = n.Released()
					changes[n.ID] = s
				}
			case depsBroken:
				s = lathe.StatusSkipped
				changes[n.ID] = s
			}
		}
		state[i], outcome[i] = decided, s
		return s
	}
	for i := range nodes {
		decide(i)
	}
	return changes
}

type depsResult int

const (
	depsWaiting depsResult = iota
	depsReady
	depsBroken
)

func depsState(deps []string, status func(string) lathe.Status) depsResult {
	ready := true
	for _, d := range deps {
		s := status(d)
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

// RerunPlan decides which jobs a re-run of ids runs again: ids themselves
// and, transitively, every job that needs one of them (it used what they
// made, so its result no longer stands). Every other job keeps its result.
func RerunPlan(nodes []Node, ids []int64) map[int64]bool {
	again := map[int64]bool{}
	names := map[string]bool{}
	for _, id := range ids {
		again[id] = true
	}
	for _, n := range nodes {
		if again[n.ID] {
			names[n.Name] = true
		}
	}
	// Dependents come after what they need in no particular order, so
	// iterate to a fixed point (each pass adds a job or ends).
	for changed := true; changed; {
		changed = false
		for _, n := range nodes {
			if again[n.ID] {
				continue
			}
			for _, d := range n.Deps {
				if names[d] {
					again[n.ID], names[n.Name], changed = true, true, true
					break
				}
			}
		}
	}
	return again
}

// Rerunnable says whether a job that is in status may be re-run: only a
// finished one that ran (a skipped job's dependencies decide about it).
func Rerunnable(id int64, status lathe.Status) error {
	switch status {
	case lathe.StatusSuccess, lathe.StatusFailed, lathe.StatusCanceled, lathe.StatusLost, lathe.StatusTimedOut:
		return nil
	}
	return fmt.Errorf("job %d is %s; only a finished job (success, failed, canceled, lost, timed_out) can be re-run: %w",
		id, status, lathe.ErrConflict)
}

// RerunsWhenFailed reports whether a job that ended in status is one a
// re-run of a run's failed jobs starts again.
func RerunsWhenFailed(status lathe.Status) bool {
	switch status {
	case lathe.StatusFailed, lathe.StatusCanceled, lathe.StatusLost, lathe.StatusTimedOut:
		return true
	}
	return false
}

// QueueExpired reports whether a queued job that no online agent can take
// (stuck) has waited past the queue timeout (0: none): it then fails.
// queuedAt and now are unix microseconds.
func QueueExpired(stuck bool, queuedAt int64, timeout time.Duration, now int64) bool {
	return stuck && timeout > 0 && queuedAt < now-timeout.Microseconds()
}
