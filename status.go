// Package lathe holds Lathe's domain: the things a CI server talks about
// (projects, runs, stages, jobs, attempts, steps, agents) and the one status
// vocabulary they share. It depends on nothing but the standard library;
// every adapter (store, api, agent, engine) depends on it.
package lathe

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
