package engine

import (
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// GateJob is a job as the gate decisions see it.
type GateJob struct {
	ID     int64
	RunID  int64
	Status lathe.Status
	// Approval is the job's own approval gate ("" when it has none), and
	// Approved whether that gate was passed in this pass through it.
	Approval string
	Approved bool
	// TrustGate: the job is behind its run's trust gate.
	TrustGate bool
}

// gate is the state of the job's own approval gate.
func (j GateJob) gate() lathe.Status {
	if j.Approved {
		return GatePassed
	}
	return GateWaiting
}

// Approve decides a user's approval of the job's own gate: the job goes to
// the queue. It is a conflict unless the job waits at a gate of its own (a
// job behind its run's trust gate goes on only once the run's commit is
// approved, which a job's approval must not stand in for).
func Approve(j GateJob) (lathe.Status, error) {
	if j.Status != lathe.StatusWaiting {
		return "", fmt.Errorf("job %d is %s, not waiting for approval: %w", j.ID, j.Status, lathe.ErrConflict)
	}
	if j.TrustGate {
		return "", fmt.Errorf("job %d waits for its run's commit to be approved (POST /api/v1/runs/%d/approve) before its own gate: %w",
			j.ID, j.RunID, lathe.ErrConflict)
	}
	if j.Approval == "" {
		return "", fmt.Errorf("job %d has no approval gate: %w", j.ID, lathe.ErrConflict)
	}
	if err := Check(Gate, j.ID, j.gate(), GatePassed); err != nil {
		return "", err
	}
	return lathe.StatusQueued, nil
}

// Reject decides a user's rejection of a job waiting for approval: the job
// is canceled for good (its dependents are then skipped by Advance).
func Reject(j GateJob) (lathe.Status, error) {
	if j.Status != lathe.StatusWaiting {
		return "", fmt.Errorf("job %d is %s, not waiting for approval: %w", j.ID, j.Status, lathe.ErrConflict)
	}
	if err := Check(Gate, j.ID, j.gate(), GateRejected); err != nil {
		return "", err
	}
	return lathe.StatusCanceled, nil
}

// TrustApproved decides what an approval of an untrusted run's commit does
// to its jobs: every job leaves the trust gate, and those waiting only for
// it go to the queue (a job with an unpassed gate of its own keeps waiting
// at it). It is a conflict when no job of the run is behind the trust gate.
func TrustApproved(runID int64, untrusted bool, jobs []GateJob) (map[int64]lathe.Status, error) {
	gated := 0
	for _, j := range jobs {
		if j.TrustGate {
			gated++
		}
	}
	if !untrusted || gated == 0 {
		return nil, fmt.Errorf("run %d does not wait for its commit to be approved: %w", runID, lathe.ErrConflict)
	}
	changes := map[int64]lathe.Status{}
	for _, j := range jobs {
		if j.Status == lathe.StatusWaiting && (j.Approval == "" || j.Approved) {
			changes[j.ID] = lathe.StatusQueued
		}
	}
	return changes, nil
}

// CancelAction is what canceling a job does.
type CancelAction int

const (
	// CancelNow ends the job canceled at once: it has not started.
	CancelNow CancelAction = iota
	// CancelThroughAgent asks the agent running the job's attempt to stop it.
	CancelThroughAgent
)

// Cancel decides a request to cancel a job in status.
func Cancel(id int64, status lathe.Status) (CancelAction, error) {
	switch {
	case status.Terminal():
		return 0, fmt.Errorf("job %d is already %s: %w", id, status, lathe.ErrConflict)
	case status == lathe.StatusRunning:
		return CancelThroughAgent, nil
	}
	return CancelNow, nil
}
