package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	lathe "github.com/lathe-ci/lathe"
)

// Entity names a kind of thing that has a status.
type Entity string

// The entities whose status the engine governs.
const (
	Attempt Entity = "attempt"
	Job     Entity = "job"
	Stage   Entity = "stage"
	Run     Entity = "run"
	Gate    Entity = "gate"
)

// The states of a gate (a job's approval gate, or a run's trust gate): it
// waits for a decision, and the decision is final. A re-run meets a new gate.
const (
	GateWaiting  lathe.Status = "waiting"
	GatePassed   lathe.Status = "passed"
	GateRejected lathe.Status = "rejected"
)

// unfinished are the statuses of a stage or run before it ends: its rollup
// moves freely between them (a retried job takes a running stage back to
// queued), and from any of them to any terminal status.
var unfinished = []lathe.Status{lathe.StatusPending, lathe.StatusWaiting, lathe.StatusQueued, lathe.StatusRunning}

// terminal are the final statuses. Nothing follows them: a finished thing is
// immutable, a retry is a new attempt and a re-run is a new run.
var terminal = []lathe.Status{lathe.StatusSuccess, lathe.StatusFailed, lathe.StatusCanceled,
	lathe.StatusSkipped, lathe.StatusLost, lathe.StatusTimedOut}

// transitions is the one table of which status may follow which, per entity.
var transitions = map[Entity]map[lathe.Status][]lathe.Status{
	// An attempt is created running and ends once.
	Attempt: {
		lathe.StatusRunning: {lathe.StatusSuccess, lathe.StatusFailed, lathe.StatusCanceled, lathe.StatusLost, lathe.StatusTimedOut},
	},
	Job: {
		// Released when its needs are met (to its gate, or the queue), or
		// never run: skipped for a need that did not succeed, canceled.
		lathe.StatusPending: {lathe.StatusWaiting, lathe.StatusQueued, lathe.StatusSkipped, lathe.StatusCanceled},
		// At a gate: a decision queues it or cancels it.
		lathe.StatusWaiting: {lathe.StatusQueued, lathe.StatusCanceled},
		// Claimed by an agent; canceled; failed when no agent can ever take it.
		lathe.StatusQueued: {lathe.StatusRunning, lathe.StatusCanceled, lathe.StatusFailed},
		// Its attempt ended: the job ends with it, or goes back to the queue
		// for its next attempt (a retry, a lost or handed-back attempt).
		lathe.StatusRunning: {lathe.StatusQueued, lathe.StatusSuccess, lathe.StatusFailed, lathe.StatusCanceled,
			lathe.StatusLost, lathe.StatusTimedOut},
	},
	Stage: rollupTable(),
	Run:   rollupTable(),
	Gate: {
		GateWaiting: {GatePassed, GateRejected},
	},
}

func rollupTable() map[lathe.Status][]lathe.Status {
	m := map[lathe.Status][]lathe.Status{}
	for _, from := range unfinished {
		for _, to := range append(append([]lathe.Status{}, unfinished...), terminal...) {
			if to != from {
				m[from] = append(m[from], to)
			}
		}
	}
	return m
}

// ErrIllegalTransition is wrapped by every refused status change.
var ErrIllegalTransition = errors.New("illegal status transition")

// illegal counts refused transitions since the process started.
var illegal atomic.Int64

// IllegalTransitions is how many status changes were refused as illegal
// since the process started: each one is a bug in whoever asked for it.
func IllegalTransitions() int64 { return illegal.Load() }

// CanTransition reports whether an entity in status from may move to to. A
// transition to the same status is not a change and is not allowed.
func CanTransition(e Entity, from, to lathe.Status) bool {
	for _, s := range transitions[e][from] {
		if s == to {
			return true
		}
	}
	return false
}

// Check is the gate every status write goes through: it returns nil when the
// entity e with id may go from from to to, and otherwise logs the attempt,
// counts it, and returns an error naming both statuses that wraps
// ErrIllegalTransition and lathe.ErrConflict (the caller asked for a change
// the current state does not allow).
func Check(e Entity, id int64, from, to lathe.Status) error {
	if CanTransition(e, from, to) {
		return nil
	}
	return refuse(e, id, from, to)
}

func refuse(e Entity, id int64, from, to lathe.Status) error {
	illegal.Add(1)
	slog.Error("illegal status transition refused", "entity", string(e), "id", id, "from", string(from), "to", string(to))
	return fmt.Errorf("%s %d cannot go from %s to %s: %w", e, id, from, to, errors.Join(ErrIllegalTransition, lathe.ErrConflict))
}
