package engine

import (
	"errors"
	"testing"

	lathe "github.com/lathe-ci/lathe"
)

// Final is final: nothing leaves a terminal status (a retry is a new
// attempt, a re-run a new run).
func TestTerminalStatusesAreFinal(t *testing.T) {
	for _, e := range []Entity{Attempt, Job, Stage, Run} {
		for _, from := range terminal {
			for _, to := range lathe.Statuses {
				if CanTransition(e, from, to) {
					t.Errorf("%s may go from final %s to %s", e, from, to)
				}
			}
		}
	}
	if CanTransition(Gate, GatePassed, GateWaiting) || CanTransition(Gate, GateRejected, GatePassed) {
		t.Error("a gate's decision is not final")
	}
}

func TestIllegalTransitionIsRefusedAndCounted(t *testing.T) {
	before := IllegalTransitions()
	err := Check(Job, 7, lathe.StatusSuccess, lathe.StatusRunning)
	if !errors.Is(err, ErrIllegalTransition) || !errors.Is(err, lathe.ErrConflict) {
		t.Fatalf("Check(success → running) = %v; want an illegal-transition conflict", err)
	}
	if got := IllegalTransitions() - before; got != 1 {
		t.Errorf("counted %d illegal transitions; want 1", got)
	}
	if err := Check(Job, 7, lathe.StatusQueued, lathe.StatusRunning); err != nil {
		t.Errorf("Check(queued → running) = %v", err)
	}
}

func TestEndAttempt(t *testing.T) {
	onFailure := &lathe.Retry{Count: 1, On: []string{lathe.RetryOnFailure}}
	onLoss := &lathe.Retry{Count: 3, On: []string{lathe.RetryOnInfrastructure}}
	tests := []struct {
		name string
		in   AttemptEnd
		want AttemptOutcome
	}{
		{"success ends the job", AttemptEnd{Result: lathe.StatusSuccess, ByAgent: true},
			AttemptOutcome{Attempt: lathe.StatusSuccess, Job: lathe.StatusSuccess}},
		{"failure without retry ends it", AttemptEnd{Result: lathe.StatusFailed, ByAgent: true},
			AttemptOutcome{Attempt: lathe.StatusFailed, Job: lathe.StatusFailed}},
		{"covered failure is retried", AttemptEnd{Result: lathe.StatusFailed, ByAgent: true, Retry: onFailure},
			AttemptOutcome{Attempt: lathe.StatusFailed, Job: lathe.StatusQueued, UseRetry: true}},
		{"retries used up", AttemptEnd{Result: lathe.StatusFailed, ByAgent: true, Retry: onFailure, Retries: 1},
			AttemptOutcome{Attempt: lathe.StatusFailed, Job: lathe.StatusFailed}},
		{"timeout not covered", AttemptEnd{Result: lathe.StatusTimedOut, Retry: onFailure},
			AttemptOutcome{Attempt: lathe.StatusTimedOut, Job: lathe.StatusTimedOut}},
		{"agent stopped on a cancel", AttemptEnd{Result: lathe.StatusFailed, ByAgent: true, CancelRequested: true, Retry: onFailure},
			AttemptOutcome{Attempt: lathe.StatusCanceled, Job: lathe.StatusCanceled}},
		{"success stands despite a late cancel", AttemptEnd{Result: lathe.StatusSuccess, ByAgent: true, CancelRequested: true},
			AttemptOutcome{Attempt: lathe.StatusSuccess, Job: lathe.StatusSuccess}},
		{"hand-back requeues without a retry", AttemptEnd{Result: lathe.StatusLost, ByAgent: true},
			AttemptOutcome{Attempt: lathe.StatusLost, Job: lathe.StatusQueued}},
		{"hand-back on a cancel ends canceled", AttemptEnd{Result: lathe.StatusLost, ByAgent: true, CancelRequested: true},
			AttemptOutcome{Attempt: lathe.StatusCanceled, Job: lathe.StatusCanceled}},
		{"expired lease uses an infra retry", AttemptEnd{Result: lathe.StatusLost, CountedLoss: true, InfraDefault: 2, InfraRetries: 1},
			AttemptOutcome{Attempt: lathe.StatusLost, Job: lathe.StatusQueued, UseInfraRetry: true}},
		{"infra retries used up", AttemptEnd{Result: lathe.StatusLost, CountedLoss: true, InfraDefault: 2, InfraRetries: 2},
			AttemptOutcome{Attempt: lathe.StatusLost, Job: lathe.StatusLost}},
		{"pipeline's retry covers losses", AttemptEnd{Result: lathe.StatusLost, CountedLoss: true, InfraDefault: 0, InfraRetries: 2, Retry: onLoss},
			AttemptOutcome{Attempt: lathe.StatusLost, Job: lathe.StatusQueued, UseInfraRetry: true}},
		{"lost while canceling stays lost", AttemptEnd{Result: lathe.StatusLost, CountedLoss: true, InfraDefault: 2, CancelRequested: true},
			AttemptOutcome{Attempt: lathe.StatusLost, Job: lathe.StatusLost}},
		{"timed out while canceling is not retried", AttemptEnd{Result: lathe.StatusTimedOut, CancelRequested: true,
			Retry: &lathe.Retry{Count: 1, On: []string{lathe.RetryOnTimeout}}},
			AttemptOutcome{Attempt: lathe.StatusTimedOut, Job: lathe.StatusTimedOut}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EndAttempt(tt.in)
			if got != tt.want {
				t.Errorf("EndAttempt = %+v, want %+v", got, tt.want)
			}
			if !CanTransition(Attempt, lathe.StatusRunning, got.Attempt) || !CanTransition(Job, lathe.StatusRunning, got.Job) {
				t.Errorf("EndAttempt asks for an illegal transition: %+v", got)
			}
		})
	}
}

func TestGates(t *testing.T) {
	waiting := GateJob{ID: 1, RunID: 2, Status: lathe.StatusWaiting, Approval: "{}"}
	if to, err := Approve(waiting); err != nil || to != lathe.StatusQueued {
		t.Errorf("Approve(waiting at its gate) = %s, %v", to, err)
	}
	behindTrust := waiting
	behindTrust.TrustGate = true
	noGate := waiting
	noGate.Approval = ""
	queued := waiting
	queued.Status = lathe.StatusQueued
	for name, j := range map[string]GateJob{"behind the trust gate": behindTrust, "without a gate": noGate, "queued": queued} {
		if _, err := Approve(j); !errors.Is(err, lathe.ErrConflict) {
			t.Errorf("Approve(job %s) = %v; want a conflict", name, err)
		}
	}
	if to, err := Reject(waiting); err != nil || to != lathe.StatusCanceled {
		t.Errorf("Reject = %s, %v", to, err)
	}
	jobs := []GateJob{
		{ID: 1, Status: lathe.StatusWaiting, TrustGate: true},
		{ID: 2, Status: lathe.StatusWaiting, TrustGate: true, Approval: "{}"},
		{ID: 3, Status: lathe.StatusPending, TrustGate: true},
	}
	changes, err := TrustApproved(9, true, jobs)
	if err != nil || len(changes) != 1 || changes[1] != lathe.StatusQueued {
		t.Errorf("TrustApproved = %v, %v; want only job 1 queued (job 2 keeps its own gate)", changes, err)
	}
	if _, err := TrustApproved(9, false, jobs); !errors.Is(err, lathe.ErrConflict) {
		t.Errorf("TrustApproved of a trusted run = %v; want a conflict", err)
	}
}

func TestTimedOut(t *testing.T) {
	if TimedOut(0, 0, 0, 1<<40) {
		t.Error("a job without a timeout timed out")
	}
	if TimedOut(0, 10, 5, 10_000_005) || !TimedOut(0, 10, 5, 10_000_006) {
		t.Error("timeout boundary is wrong")
	}
}

// A chain of jobs is decided in one walk: the whole chain's skip follows
// from its first job's failure.
func TestAdvanceLongChain(t *testing.T) {
	const n = 5000
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = Node{ID: int64(i + 1), Name: string(rune('a'+i%26)) + string(rune(i)), Status: lathe.StatusPending}
		if i > 0 {
			nodes[i].Deps = []string{nodes[i-1].Name}
		}
	}
	nodes[0].Status = lathe.StatusFailed
	changes := Advance(nodes, false)
	if len(changes) != n-1 || changes[n] != lathe.StatusSkipped {
		t.Errorf("Advance skipped %d of %d jobs behind a failure", len(changes), n-1)
	}
}

// A re-run runs the chosen jobs again and everything that needs them,
// transitively; the rest keep their results.
func TestRerunPlan(t *testing.T) {
	nodes := []Node{
		{ID: 1, Name: "build", Status: lathe.StatusSuccess},
		{ID: 2, Name: "test", Status: lathe.StatusFailed, Deps: []string{"build"}},
		{ID: 3, Name: "deploy", Status: lathe.StatusSkipped, Deps: []string{"test"}},
		{ID: 4, Name: "notify", Status: lathe.StatusSkipped, Deps: []string{"deploy"}},
		{ID: 5, Name: "lint", Status: lathe.StatusSuccess},
	}
	got := RerunPlan(nodes, []int64{2})
	if len(got) != 3 || !got[2] || !got[3] || !got[4] {
		t.Errorf("RerunPlan(test) = %v; want test, deploy, notify", got)
	}
	if got := RerunPlan(nodes, []int64{1}); len(got) != 4 || got[5] {
		t.Errorf("RerunPlan(build) = %v; want all but lint", got)
	}
}
