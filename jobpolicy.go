package lathe

import (
	"slices"
	"time"
)

// The failures a job's Retry can be for.
const (
	RetryOnFailure        = "failure"        // a step exited non-zero
	RetryOnInfrastructure = "infrastructure" // the agent was lost
	RetryOnTimeout        = "timeout"        // the attempt ran past its timeout
)

// Retry says how many more attempts a job gets after a failure, and for
// which failures.
type Retry struct {
	Count int      `json:"count"`
	On    []string `json:"on"`
}

// Covers reports whether the retry applies to an attempt that ended in
// status (failed, timed_out or lost).
func (r *Retry) Covers(status Status) bool {
	if r == nil {
		return false
	}
	switch status {
	case StatusFailed:
		return slices.Contains(r.On, RetryOnFailure)
	case StatusTimedOut:
		return slices.Contains(r.On, RetryOnTimeout)
	case StatusLost:
		return slices.Contains(r.On, RetryOnInfrastructure)
	}
	return false
}

// Approval is the gate a job waits at (waiting_for_approval) once its needs
// are met, until someone it names confirms (Escape's confirmation step).
type Approval struct {
	// From names the users or teams who may approve.
	From    []string `json:"from"`
	Message string   `json:"message"`
	// NotBy may not answer the gate, admins included: the user who asked
	// for a deployment to an environment that demands a second person.
	NotBy string `json:"not_by,omitempty"`
	// ApprovedBy and ApprovedAt are set once the gate opened.
	ApprovedBy string     `json:"approved_by,omitempty"`
	ApprovedAt *time.Time `json:"approved_at,omitempty"`
	// RejectedBy and RejectedAt are set once the gate was rejected.
	RejectedBy string     `json:"rejected_by,omitempty"`
	RejectedAt *time.Time `json:"rejected_at,omitempty"`
	// Comment is what the user who decided said (required on no side;
	// shown with the job, its deployment and in the audit log).
	Comment string `json:"comment,omitempty"`
}
