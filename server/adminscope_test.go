package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// An admin acts as admin only through a token of the admin scope: with a
// read or write token, an admin is the user it is on each project — it does
// not see a private project it is no member of, nor list it, nor answer a
// gate that does not name it.
func TestAdminRightsNeedAnAdminScopedToken(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	ctx := context.Background()
	l.Project(t, "vault", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  deploy:\n    approval: {from: [carol]}\n    steps: [echo deployed]\n"}))
	var me lathe.User
	l.Do(t, http.MethodGet, "/api/v1/users/me", nil, &me)
	token := func(scope string) string {
		var k lathe.APIToken
		l.Do(t, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "admin-" + scope, "scopes": []string{scope}}, &k)
		return k.Token
	}
	listed := func(tok string) bool {
		var page lathe.Page[*lathe.Project]
		if err := l.ClientAs(t, tok).Do(ctx, http.MethodGet, "/api/v1/projects", nil, &page); err != nil {
			t.Fatalf("list projects: %v", err)
		}
		return slices.ContainsFunc(page.Items, func(p *lathe.Project) bool { return p.Name == "vault" })
	}
	if !listed(l.AdminToken) || statusOf(t, l, l.AdminToken, http.MethodGet, "/api/v1/projects/vault", nil) != 200 {
		t.Fatalf("the admin-scoped token does not see the private project")
	}
	for _, scope := range []string{"read", "write"} {
		tok := token(scope)
		if got := statusOf(t, l, tok, http.MethodGet, "/api/v1/projects/vault", nil); got != http.StatusForbidden {
			t.Errorf("admin's %s token reading a private project it is no member of: %d; want 403", scope, got)
		}
		if listed(tok) {
			t.Errorf("admin's %s token lists a private project it is no member of", scope)
		}
		if got := statusOf(t, l, tok, http.MethodGet, "/api/v1/users", nil); got != http.StatusForbidden {
			t.Errorf("admin's %s token listing users: %d; want 403", scope, got)
		}
	}

	// As a writer of the project, the admin's write token answers only the
	// gates that name it; the admin-scoped token answers every gate.
	l.Do(t, http.MethodPut, "/api/v1/projects/vault/members/users/"+me.Name, map[string]string{"role": "write"}, nil)
	run := l.Trigger(t, "vault", "", "")
	deploy := lathetest.JobByName(t, l.Run(t, run.ID), "deploy")
	path := fmt.Sprintf("/api/v1/jobs/%d/approve", deploy.ID)
	write := token("write")
	if got := statusOf(t, l, write, http.MethodGet, "/api/v1/projects/vault", nil); got != 200 {
		t.Fatalf("admin's write token as a member: %d", got)
	}
	if got := statusOf(t, l, write, http.MethodPost, path, nil); got != http.StatusForbidden {
		t.Errorf("admin's write token approving a gate for carol: %d; want 403", got)
	}
	wantAtGate(t, l, deploy.ID, "after the write token was refused")
	if got := statusOf(t, l, l.AdminToken, http.MethodPost, path, nil); got != 200 {
		t.Errorf("admin-scoped token approving the gate: %d; want 200", got)
	}
}
