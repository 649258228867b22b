package dispatch

import (
	"context"
	"fmt"
	"slices"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// ApproveJob opens a job's approval gate (Escape's confirmation step): the
// job is queued and the actor recorded as its approver. It needs write on
// the project; the gate's `from` (users or teams) narrows who may answer
// it further, admins excepted.
func (s *Service) ApproveJob(ctx context.Context, a Actor, jobID int64) error {
	if err := s.mayAnswerGate(ctx, a, jobID); err != nil {
		return err
	}
	if err := s.store.ApproveJob(ctx, jobID, a.User); err != nil {
		return err
	}
	s.Audit(ctx, a.User, "approval.given", a.Project, map[string]any{"job_id": jobID})
	return nil
}

// RejectJob closes a job's approval gate: the job is canceled and the
// jobs that need it are skipped. Who may reject is who may approve; the
// comment (why) is kept on the job and in the audit log.
func (s *Service) RejectJob(ctx context.Context, a Actor, jobID int64, comment string) error {
	if err := s.mayAnswerGate(ctx, a, jobID); err != nil {
		return err
	}
	if err := s.store.RejectJob(ctx, jobID, a.User, comment); err != nil {
		return err
	}
	details := map[string]any{"job_id": jobID}
	if comment != "" {
		details["comment"] = comment
	}
	s.Audit(ctx, a.User, "approval.rejected", a.Project, details)
	return nil
}

// mayAnswerGate checks the actor is one the job's approval names: a user
// by name, or a member of a team named (with or without a leading "@").
// A gate naming no one takes anyone with write; admins answer every gate.
func (s *Service) mayAnswerGate(ctx context.Context, a Actor, jobID int64) error {
	if err := a.requireRole(lathe.RoleWrite); err != nil {
		return err
	}
	j, err := s.store.Job(ctx, jobID)
	if err != nil {
		return err
	}
	if j.Approval != nil && j.Approval.NotBy != "" && a.User == j.Approval.NotBy {
		return fmt.Errorf("job %s deploys what %s asked for, and its environment demands a second person to approve: %w",
			j.Name, a.User, lathe.ErrForbidden)
	}
	if j.Approval == nil || len(j.Approval.From) == 0 || a.Admin {
		return nil
	}
	for _, who := range j.Approval.From {
		if a.User != "" && who == a.User {
			return nil
		}
		if role, ok := strings.CutPrefix(who, "role:"); ok && a.requireRole(lathe.Role(role)) == nil {
			return nil
		}
		tm, err := s.store.Team(ctx, strings.TrimPrefix(who, "@"))
		if err == nil && slices.Contains(tm.Members, a.User) {
			return nil
		}
	}
	return fmt.Errorf("job %s waits for approval from %s; %s is not one of them: %w",
		j.Name, strings.Join(j.Approval.From, ", "), a.User, lathe.ErrForbidden)
}

// ApproveRun approves the commit of an untrusted run (a fork's pull
// request) for its project: its jobs leave the trust gate, and later runs
// of that exact commit start at once. It needs write on the project. The
// run still gets no secrets (see withSecrets): approval lets the code run,
// not read what the project keeps.
func (s *Service) ApproveRun(ctx context.Context, a Actor, runID int64) error {
	if err := a.requireRole(lathe.RoleWrite); err != nil {
		return err
	}
	if err := s.store.ApproveRun(ctx, runID, a.User); err != nil {
		return err
	}
	s.Audit(ctx, a.User, "approval.given", a.Project, map[string]any{"run_id": runID})
	return nil
}
