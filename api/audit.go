package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// audit records who did what (see dispatch.Service.Audit).
func (s *Server) audit(r *http.Request, actor, action string, p *lathe.Project, details map[string]any) {
	s.dispatch.Audit(r.Context(), actor, action, p, details)
}

// listEvents serves the audit log: everything to admins, a project's own
// events to its owners (/projects/{project}/events). ?type= filters by action.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	f := store.AuditFilter{Action: queryValue(r, "type"), Actor: queryValue(r, "actor"), Before: before, Limit: limit}
	if f.Since, err = queryTime(r, "since"); err != nil {
		return err
	}
	if f.Until, err = queryTime(r, "until"); err != nil {
		return err
	}
	if p := principal(r.Context()).Project; p != nil {
		f.ProjectID = p.ID
	}
	page, err := s.store.AuditEvents(r.Context(), f)
	return respond(w, http.StatusOK, page, err)
}

// auditAgentChange records an admin's change to an agent, one event per
// kind of change, so ?type=agent.authorized finds who let an agent in.
func (s *Server) auditAgentChange(r *http.Request, id int64, c store.AgentChange) {
	actor := principal(r.Context()).User
	record := func(action string, details map[string]any) {
		details["agent_id"] = id
		s.audit(r, actor, action, nil, details)
	}
	if c.Authorized != nil {
		record(map[bool]string{true: "agent.authorized", false: "agent.unauthorized"}[*c.Authorized], map[string]any{})
	}
	if c.Disabled != nil {
		record(map[bool]string{true: "agent.disabled", false: "agent.enabled"}[*c.Disabled], map[string]any{})
	}
	if c.Name != nil || c.Labels != nil {
		record("agent.updated", map[string]any{"name": c.Name, "labels": c.Labels})
	}
}

// projectChanges lists what an update changed, for the audit log. URLs are
// recorded without their user information, which may hold a credential.
func projectChanges(old, p *lathe.Project) map[string]any {
	d := map[string]any{}
	if old.URL != p.URL {
		d["old_url"], d["url"] = redactURL(old.URL), redactURL(p.URL)
	}
	if old.Visibility != p.Visibility {
		d["old_visibility"], d["visibility"] = old.Visibility, p.Visibility
	}
	if old.Name != p.Name {
		d["old_name"], d["name"] = old.Name, p.Name
	}
	if old.DefaultBranch != p.DefaultBranch {
		d["old_default_branch"], d["default_branch"] = old.DefaultBranch, p.DefaultBranch
	}
	if old.AllowAPIPipelines != p.AllowAPIPipelines {
		d["allow_api_pipelines"] = p.AllowAPIPipelines
	}
	if old.Forge != p.Forge || old.Repo != p.Repo {
		d["old_forge"], d["forge"], d["old_repo"], d["repo"] = old.Forge, p.Forge, old.Repo, p.Repo
	}
	if !slices.Equal(old.UntrustedLabels, p.UntrustedLabels) {
		d["old_untrusted_labels"], d["untrusted_labels"] = old.UntrustedLabels, p.UntrustedLabels
	}
	if old.PRTrust != p.PRTrust || !slices.Equal(old.ProtectedBranches, p.ProtectedBranches) {
		d["old_pr_trust"], d["pr_trust"] = old.PRTrust, p.PRTrust
		d["old_protected_branches"], d["protected_branches"] = old.ProtectedBranches, p.ProtectedBranches
	}
	return d
}

// environmentChanges is the audit log's record of an environment's update:
// each setting that changed, before (old_…) and after; turning protection
// off, or dropping an approver, is what an auditor looks for.
func environmentChanges(old, e *lathe.Environment) map[string]any {
	d := map[string]any{"environment": e.Name}
	if old.Position != e.Position {
		d["old_position"], d["position"] = old.Position, e.Position
	}
	if old.DeployPipeline != e.DeployPipeline {
		d["old_deploy_pipeline"], d["deploy_pipeline"] = old.DeployPipeline, e.DeployPipeline
	}
	if old.Protected != e.Protected {
		d["old_protected"], d["protected"] = old.Protected, e.Protected
	}
	if !slices.Equal(old.Approvers, e.Approvers) {
		d["old_approvers"], d["approvers"] = old.Approvers, e.Approvers
	}
	if old.SecondPerson != e.SecondPerson {
		d["old_second_person"], d["second_person"] = old.SecondPerson, e.SecondPerson
	}
	return d
}

// redactURL replaces the user information of a URL (https://token@host)
// with ***.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if at := strings.LastIndex(raw, "@"); err != nil && at >= 0 {
			return "***" + raw[at:]
		}
		return raw
	}
	u.User = nil
	return u.Scheme + "://***@" + strings.TrimPrefix(u.String(), u.Scheme+"://")
}
