package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// An admin lists a user's tokens and revokes one with `lathe user tokens`
// and `lathe user revoke-token`; `lathe user passwd --revoke-tokens`
// revokes the caller's API tokens. Each is checked by using the token.
func TestUserTokenCommands(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	ctx := context.Background()
	run := func(stdin, token string, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		env := &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		if code := cli.Run(ctx, append(args, "--server", l.URL, "--token", token), env); code != 0 {
			t.Fatalf("lathe %v: exit %d\n%s", args, code, out.String())
		}
		return out.String()
	}
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "dee", "password": "dee-password"}, nil)
	var s struct {
		Session lathe.APIToken `json:"session"`
	}
	if err := l.ClientAs(t, "").Do(ctx, "POST", "/api/v1/sessions", map[string]string{"username": "dee", "password": "dee-password"}, &s); err != nil {
		t.Fatal(err)
	}
	dee := l.ClientAs(t, s.Session.Token)
	newToken := func(name string) *lathe.APIToken {
		var k lathe.APIToken
		if err := dee.Do(ctx, "POST", "/api/v1/tokens", map[string]any{"name": name}, &k); err != nil {
			t.Fatal(err)
		}
		return &k
	}
	works := func(k *lathe.APIToken) bool {
		return l.ClientAs(t, k.Token).Do(ctx, "GET", "/api/v1/users/me", nil, nil) == nil
	}

	ci := newToken("ci-deploy")
	if out := run("", l.AdminToken, "user", "tokens", "dee"); !regexp.MustCompile(fmt.Sprintf(`(?m)^%d +token +ci-deploy +read,write `, ci.ID)).MatchString(out) || strings.Contains(out, ci.Token) {
		t.Errorf("user tokens dee: want the token listed without its secret:\n%s", out)
	}
	run("", l.AdminToken, "user", "revoke-token", "dee", fmt.Sprint(ci.ID))
	if works(ci) {
		t.Error("the token an admin revoked still works")
	}

	kept := newToken("kept")
	run("dee-password\ndee-password-2\n", s.Session.Token, "user", "passwd")
	if !works(kept) {
		t.Error("passwd without --revoke-tokens revoked an API token")
	}
	run("dee-password-2\ndee-password-3\n", s.Session.Token, "user", "passwd", "--revoke-tokens")
	if works(kept) {
		t.Error("passwd --revoke-tokens left an API token working")
	}
}
