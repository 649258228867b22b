// Package lathe holds Lathe's domain: the things a CI server talks about
// (projects, runs, stages, jobs, attempts, steps, agents) and the one status
// vocabulary they share. It depends on nothing but the standard library;
// every adapter (store, api, agent, engine) depends on it.
package lathe

import "fmt"

// Status is the lifecycle state of a run, stage, job, attempt or step.
//
//	pending → (waiting_for_approval) → queued → running → success | failed | canceled | skipped | lost | timed_out
type Status string

const (
	StatusPending  Status = "pending"
	StatusWaiting  Status = "waiting_for_approval"
	StatusQueued   Status = "queued"
	StatusRunning  Status = "running"
	StatusSuccess  Status = "success"
	StatusFailed   Status = "failed"
	StatusCanceled Status = "canceled"
	StatusSkipped  Status = "skipped"
	StatusLost     Status = "lost"
	StatusTimedOut Status = "timed_out"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{
	StatusPending, StatusWaiting, StatusQueued, StatusRunning,
	StatusSuccess, StatusFailed, StatusCanceled, StatusSkipped, StatusLost, StatusTimedOut,
}

// Terminal reports whether s is a final state: nothing changes it afterwards.
func (s Status) Terminal() bool {
	switch s {
	case StatusSuccess, StatusFailed, StatusCanceled, StatusSkipped, StatusLost, StatusTimedOut:
		return true
	}
	return false
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if v == s {
			return true
		}
	}
	return false
}

// transitions is the one definition of which status may follow which.
// Terminal statuses have no successors: a finished thing is immutable, and a
// retry is a new attempt, never a reopened one.
var transitions = map[Status][]Status{
	StatusPending: {StatusWaiting, StatusQueued, StatusRunning, StatusSuccess, StatusFailed, StatusCanceled, StatusSkipped},
	StatusWaiting: {StatusQueued, StatusCanceled, StatusSkipped, StatusFailed},
	StatusQueued:  {StatusRunning, StatusCanceled, StatusSkipped, StatusFailed, StatusPending},
	StatusRunning: {StatusSuccess, StatusFailed, StatusCanceled, StatusLost, StatusTimedOut, StatusQueued},
}

// CanTransition reports whether a thing in status from may move to status to.
// A transition to the same status is not a change and is not allowed.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// CheckTransition returns an error naming both statuses when from → to is not allowed.
func CheckTransition(what string, from, to Status) error {
	if !CanTransition(from, to) {
		return fmt.Errorf("%s: cannot go from %s to %s: %w", what, from, to, ErrConflict)
	}
	return nil
}
