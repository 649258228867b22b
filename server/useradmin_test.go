package server_test

import (
	"context"
	"net/http"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/store"
)

// Admins rename a user (its sessions, tokens and roles stay valid: they
// belong to the user, not the name), set its email, and reset its
// password (every login session of it ends; its API tokens only with
// revoke_tokens), each in the audit log.
func TestAdminsRenameUsersSetEmailAndResetPasswords(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l := lathetest.Start(t, o)
		ctx := context.Background()
		l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": rbacPipeline}))
		l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "ann", "password": "s3cret-pass", "email": "ann@example.com"}, nil)
		l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "bob", "password": "s3cret-pass"}, nil)
		l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "robot", "service": true}, nil)
		l.Do(t, http.MethodPut, "/api/v1/projects/shop/members/users/ann", map[string]any{"role": "write"}, nil)
		session := login(t, l, "ann", "s3cret-pass")
		var tok struct {
			Token string `json:"token"`
		}
		if err := l.ClientAs(t, session).Do(ctx, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "ci"}, &tok); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			body map[string]any
			want int
		}{
			{map[string]any{"email": "not an address"}, 400},
			{map[string]any{"email": "Ann <ann@example.com>"}, 400},
			{map[string]any{"name": "123"}, 400},
			{map[string]any{"name": "bob"}, 409},
		} {
			if got := statusOf(t, l, l.AdminToken, http.MethodPatch, "/api/v1/users/ann", tc.body); got != tc.want {
				t.Errorf("PATCH ann %v: %d, want %d", tc.body, got, tc.want)
			}
		}
		var renamed lathe.User
		l.Do(t, http.MethodPatch, "/api/v1/users/ann", map[string]any{"name": "anna", "email": "anna@example.com"}, &renamed)
		if renamed.Name != "anna" || renamed.Email != "anna@example.com" {
			t.Errorf("renamed user: %+v", renamed)
		}
		if got := statusOf(t, l, l.AdminToken, http.MethodGet, "/api/v1/users/ann", nil); got != 404 {
			t.Errorf("the old name after a rename: %d, want 404", got)
		}
		for name, cred := range map[string]string{"session": session, "token": tok.Token} {
			var me lathe.User
			if err := l.ClientAs(t, cred).Do(ctx, http.MethodGet, "/api/v1/users/me", nil, &me); err != nil || me.Name != "anna" || me.Email != "anna@example.com" {
				t.Errorf("%s after the rename: %+v %v, want anna", name, me, err)
			}
		}
		if got := statusOf(t, l, tok.Token, http.MethodPost, "/api/v1/projects/shop/runs", map[string]any{"pipeline": "main"}); got != 200 {
			t.Errorf("anna's role after the rename: trigger answered %d", got)
		}

		other := login(t, l, "anna", "s3cret-pass")
		for _, tc := range []struct {
			user string
			body map[string]any
			want int
		}{
			{"anna", map[string]any{"password": "short"}, 400},
			{"robot", map[string]any{"password": "long-enough-pass"}, 409},
			{"nobody", map[string]any{"password": "long-enough-pass"}, 404},
		} {
			if got := statusOf(t, l, l.AdminToken, http.MethodPut, "/api/v1/users/"+tc.user+"/password", tc.body); got != tc.want {
				t.Errorf("reset %s %v: %d, want %d", tc.user, tc.body, got, tc.want)
			}
		}
		if got := statusOf(t, l, other, http.MethodPut, "/api/v1/users/bob/password", map[string]any{"password": "long-enough-pass"}); got != 403 {
			t.Errorf("a non-admin resetting a password: %d, want 403", got)
		}
		l.Do(t, http.MethodPut, "/api/v1/users/anna/password", map[string]any{"password": "n3w-password"}, nil)
		for _, s := range []string{session, other} {
			if got := statusOf(t, l, s, http.MethodGet, "/api/v1/users/me", nil); got != 401 {
				t.Errorf("a session after the reset: %d, want 401", got)
			}
		}
		if got := statusOf(t, l, tok.Token, http.MethodGet, "/api/v1/users/me", nil); got != 200 {
			t.Errorf("an API token after a reset without revoke_tokens: %d, want 200", got)
		}
		if got := statusOf(t, l, "", http.MethodPost, "/api/v1/sessions", map[string]string{"username": "anna", "password": "s3cret-pass"}); got != 401 {
			t.Errorf("login with the old password: %d, want 401", got)
		}
		login(t, l, "anna", "n3w-password")
		l.Do(t, http.MethodPut, "/api/v1/users/anna/password", map[string]any{"password": "th1rd-password", "revoke_tokens": true}, nil)
		if got := statusOf(t, l, tok.Token, http.MethodGet, "/api/v1/users/me", nil); got != 401 {
			t.Errorf("an API token after a reset with revoke_tokens: %d, want 401", got)
		}

		var page lathe.Page[*store.AuditEvent]
		l.Do(t, http.MethodGet, "/api/v1/events?limit=100", nil, &page)
		var renames, resets int
		for _, e := range page.Items {
			switch {
			case e.Action == "user.updated" && e.Details["old_name"] == "ann" && e.Details["user"] == "anna" && e.Details["email"] == "anna@example.com":
				renames++
			case e.Action == "user.password_reset" && e.Details["user"] == "anna" && e.Actor == "admin":
				resets++
			}
		}
		if renames != 1 || resets != 2 {
			t.Errorf("audit: %d renames, %d resets; want 1 and 2", renames, resets)
		}
	})
}
