package api

import (
	"context"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// audit records who did what. A failure to record is logged, not returned:
// the action itself has already happened.
func (s *Server) audit(r *http.Request, actor, action string, p *lathe.Project, details map[string]any) {
	var pid int64
	if p != nil {
		pid = p.ID
		if details == nil {
			details = map[string]any{}
		}
		details["project"] = p.Name
	}
	if actor == "" {
		actor = "anonymous"
	}
	if err := s.store.Audit(r.Context(), actor, action, pid, details); err != nil {
		slogFrom(r).Error("audit log write failed", "action", action, "actor", actor, "err", err)
	}
}

// audited wraps an action on a resource by ID so that, once it succeeds,
// the audit log records it against the project the guard resolved.
func (s *Server) audited(r *http.Request, action, param string, act func(context.Context, int64) error) func(context.Context, int64) error {
	return func(ctx context.Context, id int64) error {
		if err := act(ctx, id); err != nil {
			return err
		}
		p := principal(r.Context())
		s.audit(r, p.User, action, p.Project, map[string]any{param + "_id": id})
		return nil
	}
}

// listEvents serves the audit log: everything to admins, a project's own
// events to its owners (/projects/{project}/events). ?type= filters by action.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	before, limit, err := pageParams(r)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	f := store.AuditFilter{Action: r.URL.Query().Get("type"), Before: before, Limit: limit}
	if p := principal(r.Context()).Project; p != nil {
		f.ProjectID = p.ID
	}
	page, err := s.store.AuditEvents(r.Context(), f)
	respond(w, r, http.StatusOK, page, err)
}
