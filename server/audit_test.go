package server_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/store"
)

// The audit log records who created, changed (URL, visibility) or deleted
// a project, team membership, hook and registration tokens, agents
// (registered, authorized, disabled, deleted) and agent groups, holds and
// re-runs, with what changed.
func TestAuditLogRecordsEveryChangeOfAccess(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "name: ci\njobs:\n  build:\n    steps: ['exit 1']\n"})
	l.Project(t, "shop", repo)
	run := l.Wait(t, l.Trigger(t, "shop", "", "").ID, 60*time.Second)

	var ht lathe.HookToken
	l.Do(t, "POST", "/api/v1/projects/shop/hook-tokens", map[string]any{"name": "forge"}, &ht)
	l.Do(t, "DELETE", fmt.Sprintf("/api/v1/projects/shop/hook-tokens/%d", ht.ID), nil, nil)
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "zed", "password": "zed-password"}, nil)
	l.Do(t, "POST", "/api/v1/teams", map[string]any{"name": "crew"}, nil)
	l.Do(t, "POST", "/api/v1/teams/crew/members", map[string]any{"user": "zed"}, nil)
	l.Do(t, "DELETE", "/api/v1/teams/crew/members/zed", nil, nil)
	l.Do(t, "DELETE", "/api/v1/teams/crew", nil, nil)
	_, member, _ := register(t, l, l.RegistrationToken(t), "grouped-agent", "nomatch")
	l.Do(t, "POST", "/api/v1/agent-groups", map[string]any{"name": "farm"}, nil)
	l.Do(t, "PATCH", "/api/v1/agent-groups/farm", map[string]any{"description": "the build farm"}, nil)
	l.Do(t, "POST", "/api/v1/agent-groups/farm/agents", map[string]any{"agents": []string{"grouped-agent"}}, nil)
	l.Do(t, "DELETE", "/api/v1/agent-groups/farm/agents/grouped-agent", nil, nil)
	l.Do(t, "DELETE", "/api/v1/agent-groups/farm", nil, nil)
	code, a, _ := register(t, l, l.RegistrationToken(t), "audited-agent", "nomatch")
	if code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	agentPath := fmt.Sprintf("/api/v1/agents/%d", a.ID)
	l.Do(t, "PATCH", agentPath, map[string]any{"authorized": false}, nil)
	l.Do(t, "PATCH", agentPath, map[string]any{"authorized": true}, nil)
	l.Do(t, "PATCH", agentPath, map[string]any{"disabled": true}, nil)
	l.Do(t, "DELETE", agentPath, nil, nil)
	var h lathe.Hold
	l.Do(t, "POST", "/api/v1/projects/shop/holds", map[string]any{"pipeline": "ci", "job": "build", "duration": "1h"}, &h)
	l.Do(t, "DELETE", fmt.Sprintf("/api/v1/projects/shop/holds/%d", h.ID), nil, nil)
	l.Do(t, "POST", fmt.Sprintf("/api/v1/runs/%d/rerun", run.ID), nil, nil)
	l.Do(t, "POST", fmt.Sprintf("/api/v1/runs/%d/rerun-failed", run.ID), nil, nil)
	l.Wait(t, run.ID, 60*time.Second)
	l.Do(t, "POST", fmt.Sprintf("/api/v1/jobs/%d/rerun", run.Jobs[0].ID), nil, nil)
	other := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  build:\n    steps: [true]\n"})
	l.Do(t, "PATCH", "/api/v1/projects/shop", map[string]any{"url": other, "visibility": "public"}, nil)
	l.Do(t, "POST", "/api/v1/projects/shop/environments", map[string]any{"name": "production", "position": 1,
		"protected": true, "approvers": []string{"user:admin"}}, nil)
	l.Do(t, "PUT", "/api/v1/projects/shop/environments/production", map[string]any{"position": 1, "protected": false}, nil)

	gone := l.Project(t, "gone", other)
	l.Do(t, "DELETE", "/api/v1/projects/gone", nil, nil)
	var rt lathe.RegistrationToken
	l.Do(t, "POST", "/api/v1/registration-tokens", map[string]any{"name": "spare"}, &rt)
	l.Do(t, "POST", fmt.Sprintf("/api/v1/registration-tokens/%d/revoke", rt.ID), nil, nil)

	var page lathe.Page[*store.AuditEvent]
	l.Do(t, "GET", "/api/v1/events?limit=200", nil, &page)
	got := map[string]*store.AuditEvent{}
	for _, e := range page.Items {
		if got[e.Action] == nil {
			got[e.Action] = e
		}
	}
	want := map[string]string{ // action → a detail it must carry
		"project.updated":            "visibility=public",
		"hook_token.created":         "name=forge",
		"hook_token.revoked":         fmt.Sprintf("hook_token_id=%d", ht.ID),
		"team.created":               "team=crew",
		"team.member_added":          "user=zed",
		"team.member_removed":        "user=zed",
		"team.deleted":               "team=crew",
		"agent.registered":           "agent=audited-agent",
		"agent.unauthorized":         fmt.Sprintf("agent_id=%d", a.ID),
		"agent.authorized":           fmt.Sprintf("agent_id=%d", a.ID),
		"agent.disabled":             fmt.Sprintf("agent_id=%d", a.ID),
		"agent.deleted":              "agent=audited-agent",
		"hold.created":               fmt.Sprintf("hold_id=%d", h.ID),
		"hold.deleted":               fmt.Sprintf("hold_id=%d", h.ID),
		"run.rerun":                  fmt.Sprintf("parent_run_id=%d", run.ID),
		"run.rerun_failed":           fmt.Sprintf("parent_run_id=%d", run.ID),
		"job.rerun":                  fmt.Sprintf("job_id=%d", run.Jobs[0].ID),
		"project.created":            fmt.Sprintf("project_id=%d", gone.ID),
		"project.deleted":            fmt.Sprintf("project_id=%d", gone.ID),
		"registration_token.created": "token=spare",
		"registration_token.revoked": fmt.Sprintf("token_id=%d", rt.ID),
		"agent_group.created":        "group=farm",
		"agent_group.updated":        "group=farm",
		"agent_group.agents_added":   fmt.Sprintf("agent_ids=[%d]", member.ID),
		"agent_group.agent_removed":  fmt.Sprintf("agent_ids=[%d]", member.ID),
		"agent_group.deleted":        "group=farm",
	}
	for action, detail := range want {
		e := got[action]
		if e == nil {
			t.Errorf("no %s event in the audit log", action)
			continue
		}
		k, v, _ := strings.Cut(detail, "=")
		if fmt.Sprint(e.Details[k]) != v {
			t.Errorf("%s: details %v, want %s", action, e.Details, detail)
		}
		if action != "agent.registered" && e.Actor != "admin" {
			t.Errorf("%s: actor %q, want admin", action, e.Actor)
		}
	}
	if e := got["project.updated"]; e != nil && (e.Details["url"] != other || e.Details["old_url"] != repo) {
		t.Errorf("project.updated: details %v, want the old and new URL", e.Details)
	}
	if e := got["environment.updated"]; e == nil || e.Details["environment"] != "production" || e.Details["old_protected"] != true ||
		e.Details["protected"] != false || fmt.Sprint(e.Details["old_approvers"]) != "[user:admin]" {
		t.Errorf("environment.updated: %+v; want protection and approvers, before and after", e)
	}
}

// The audit log filters by action (or the actions under it), by actor and
// by time, on both databases; a time that is not RFC 3339 is refused with
// the parameter named.
func TestAuditLogFilters(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l := lathetest.Start(t, o)
		l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "ops", "password": "ops-password", "admin": true}, nil)
		ops := l.ClientAs(t, login(t, l, "ops", "ops-password"))
		l.Do(t, "POST", "/api/v1/agent-groups", map[string]any{"name": "farm"}, nil)
		l.Do(t, "PATCH", "/api/v1/agent-groups/farm", map[string]any{"description": "the build farm"}, nil)
		if err := ops.Do(t.Context(), "POST", "/api/v1/teams", map[string]any{"name": "crew"}, nil); err != nil {
			t.Fatal(err)
		}
		mid := time.Now().UTC()
		time.Sleep(20 * time.Millisecond) // the events before and after mid differ by more than the clock's rounding
		if err := ops.Do(t.Context(), "DELETE", "/api/v1/agent-groups/farm", nil, nil); err != nil {
			t.Fatal(err)
		}
		actions := func(query string) string {
			t.Helper()
			var page lathe.Page[*store.AuditEvent]
			l.Do(t, "GET", "/api/v1/events?limit=200&"+query, nil, &page)
			var out []string
			for _, e := range page.Items {
				out = append(out, e.Actor+":"+e.Action)
			}
			return strings.Join(out, " ")
		}
		for query, want := range map[string]string{
			"type=agent_group":                   "ops:agent_group.deleted admin:agent_group.updated admin:agent_group.created",
			"type=agent_group.updated":           "admin:agent_group.updated",
			"type=agent":                         "",
			"actor=ops":                          "ops:agent_group.deleted ops:team.created ops:login",
			"actor=ops&type=team":                "ops:team.created",
			"type=agent_group&since=" + rfc(mid): "ops:agent_group.deleted",
			"type=agent_group&until=" + rfc(mid): "admin:agent_group.updated admin:agent_group.created",
		} {
			if got := actions(query); got != want {
				t.Errorf("events?%s: %q, want %q", query, got, want)
			}
		}
		var p *client.Error
		if err := ops.Do(t.Context(), "GET", "/api/v1/events?since=yesterday", nil, nil); !errors.As(err, &p) || p.Status != http.StatusBadRequest || !strings.Contains(p.Detail, "since") {
			t.Errorf("since=yesterday: %v, want 400 naming since", err)
		}
	})
}

func rfc(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339Nano)) }
