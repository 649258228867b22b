package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// approveJob opens a job's approval gate (Escape's confirmation step): the
// job is queued and the caller recorded as its approver. The guard has
// checked write on the project; the gate's `from` (users or teams) narrows
// who may answer it further, admins excepted.
func (s *Server) approveJob(w http.ResponseWriter, r *http.Request) error {
	by := principal(r.Context()).User
	approve := func(ctx context.Context, id int64) error {
		if err := s.mayAnswerGate(ctx, id); err != nil {
			return err
		}
		return s.store.ApproveJob(ctx, id, by)
	}
	return s.jobs().act(w, r, s.audited(r, "approval.given", "job", approve))
}

// rejectJob closes a job's approval gate: the job is canceled and the jobs
// that need it are skipped. Who may reject is who may approve.
func (s *Server) rejectJob(w http.ResponseWriter, r *http.Request) error {
	reject := func(ctx context.Context, id int64) error {
		if err := s.mayAnswerGate(ctx, id); err != nil {
			return err
		}
		return s.store.RejectJob(ctx, id)
	}
	return s.jobs().act(w, r, s.audited(r, "approval.rejected", "job", reject))
}

// mayAnswerGate checks the caller is one the job's approval names: a user
// by name, or a member of a team named (with or without a leading "@").
// A gate naming no one takes anyone with write; admins answer every gate.
func (s *Server) mayAnswerGate(ctx context.Context, jobID int64) error {
	p := principal(ctx)
	j, err := s.store.Job(ctx, jobID)
	if err != nil {
		return err
	}
	if j.Approval == nil || len(j.Approval.From) == 0 || p.Admin {
		return nil
	}
	for _, who := range j.Approval.From {
		if who == p.User {
			return nil
		}
		tm, err := s.store.Team(ctx, strings.TrimPrefix(who, "@"))
		if err == nil && slices.Contains(tm.Members, p.User) {
			return nil
		}
	}
	return fmt.Errorf("job %s waits for approval from %s; %s is not one of them: %w",
		j.Name, strings.Join(j.Approval.From, ", "), p.User, lathe.ErrForbidden)
}

// approveRun approves the commit of an untrusted run (a fork's pull
// request) for its project: its jobs leave the trust gate, and later runs of
// that exact commit start at once. The guard has checked write.
func (s *Server) approveRun(w http.ResponseWriter, r *http.Request) error {
	by := principal(r.Context()).User
	approve := func(ctx context.Context, id int64) error { return s.store.ApproveRun(ctx, id, by) }
	return s.runs().act(w, r, s.audited(r, "approval.given", "run", approve))
}
