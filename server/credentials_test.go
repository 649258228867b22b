package server_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A token of the built-in admin without the admin scope cannot set the
// admin's first password (the admin has none, so there is no current
// password to ask for) and so cannot log in to an admin session; once a
// password is set, nobody changes it without it, whatever the token's scope.
func TestPasswordChangeWithoutCurrentPasswordNeedsAdminScope(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	var rw lathe.APIToken
	l.Do(t, "POST", "/api/v1/tokens", map[string]any{"name": "ci", "scopes": []string{"read", "write"}}, &rw)

	if got := statusOf(t, l, rw.Token, "PUT", "/api/v1/users/me/password", map[string]string{"new_password": "takeover-123"}); got != 403 {
		t.Fatalf("first password set with a read/write token: %d, want 403", got)
	}
	if got := statusOf(t, l, "", "POST", "/api/v1/sessions", map[string]string{"username": "admin", "password": "takeover-123"}); got != 401 {
		t.Fatalf("admin login with the password a read/write token tried to set: %d, want 401", got)
	}

	// The admin-scoped token may set the first one.
	l.Do(t, "PUT", "/api/v1/users/me/password", map[string]string{"new_password": "first-pass-123"}, nil)
	login(t, l, "admin", "first-pass-123")
	for _, tok := range []string{rw.Token, l.AdminToken} {
		if got := statusOf(t, l, tok, "PUT", "/api/v1/users/me/password", map[string]string{"new_password": "takeover-456"}); got != 403 {
			t.Errorf("password change without the current one: %d, want 403", got)
		}
	}
	if got := statusOf(t, l, "", "POST", "/api/v1/sessions", map[string]string{"username": "admin", "password": "takeover-456"}); got != 401 {
		t.Errorf("admin login with a password set without the current one: %d, want 401", got)
	}
}

// tokenNames lists the names of a user's tokens and sessions as an admin sees them.
func tokenNames(t *testing.T, l *lathetest.Lathe, user string) []string {
	t.Helper()
	var list struct {
		Items []lathe.APIToken `json:"items"`
	}
	l.Do(t, "GET", "/api/v1/users/"+user+"/tokens", nil, &list)
	var names []string
	for _, k := range list.Items {
		names = append(names, k.Name)
	}
	return names
}

// Admins list and revoke any user's tokens; disabling a user revokes its
// tokens and sessions for good (enabling it again brings none back); a
// password change revokes the user's API tokens when asked to.
func TestAdminsRevokeTokensAndDisablingRevokesThem(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l := lathetest.Start(t, o)
		l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "bob", "password": "bob-password"}, nil)
		bob := func() (session, token string) {
			session = login(t, l, "bob", "bob-password")
			var k lathe.APIToken
			if err := l.ClientAs(t, session).Do(context.Background(), "POST", "/api/v1/tokens", map[string]any{"name": "ci"}, &k); err != nil {
				t.Fatal(err)
			}
			return session, k.Token
		}
		works := func(what, tok string, want int) {
			t.Helper()
			if got := statusOf(t, l, tok, "GET", "/api/v1/users/me", nil); got != want {
				t.Errorf("%s: %d, want %d", what, got, want)
			}
		}

		sess, tok := bob()
		if names := tokenNames(t, l, "bob"); !slices.Contains(names, "ci") || len(names) != 2 {
			t.Fatalf("bob's tokens as the admin sees them: %v, want ci and a session", names)
		}
		var list struct {
			Items []lathe.APIToken `json:"items"`
		}
		l.Do(t, "GET", "/api/v1/users/bob/tokens", nil, &list)
		for _, k := range list.Items {
			if k.Token != "" {
				t.Errorf("token list shows the secret of %q", k.Name)
			}
			if k.Name == "ci" {
				l.Do(t, "DELETE", fmt.Sprintf("/api/v1/users/bob/tokens/%d", k.ID), nil, nil)
			}
		}
		works("token an admin revoked", tok, 401)
		works("bob's session after the admin revoked his token", sess, 200)

		sess, tok = bob()
		l.Do(t, "DELETE", "/api/v1/users/bob", nil, nil)
		l.Do(t, "PATCH", "/api/v1/users/bob", map[string]any{"disabled": false}, nil)
		works("token of a user disabled then enabled", tok, 401)
		works("session of a user disabled then enabled", sess, 401)
		if names := tokenNames(t, l, "bob"); len(names) != 0 {
			t.Errorf("tokens left after disabling bob: %v", names)
		}

		sess, tok = bob()
		change := map[string]any{"current_password": "bob-password", "new_password": "bob-password-2"}
		if err := l.ClientAs(t, sess).Do(context.Background(), "PUT", "/api/v1/users/me/password", change, nil); err != nil {
			t.Fatal(err)
		}
		works("API token after a password change without revoke_tokens", tok, 200)
		change = map[string]any{"current_password": "bob-password-2", "new_password": "bob-password", "revoke_tokens": true}
		if err := l.ClientAs(t, sess).Do(context.Background(), "PUT", "/api/v1/users/me/password", change, nil); err != nil {
			t.Fatal(err)
		}
		works("API token after a password change with revoke_tokens", tok, 401)
		works("the session that changed the password", sess, 200)
	})
}
