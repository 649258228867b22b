package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// What the API does for tokens, teams, project members, hook secrets and
// registration tokens the CLI does too; each change is checked through the API.
func TestCLIParityCommands(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	ctx := context.Background()
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n"}))
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "dee", "password": "dee-password"}, nil)

	// Tokens: one's own, and a user's by an admin.
	out := runCLI(t, l, []string{"token", "create", "ci", "--scopes", "read"})
	tok := regexp.MustCompile(`lathe_\S+`).FindString(out)
	if tok == "" {
		t.Fatalf("token create printed no token:\n%s", out)
	}
	if err := l.ClientAs(t, tok).Do(ctx, http.MethodGet, "/api/v1/users/me", nil, nil); err != nil {
		t.Errorf("the created token does not work: %v", err)
	}
	var k lathe.APIToken
	if err := l.ClientAs(t, tok).Do(ctx, http.MethodPost, "/api/v1/projects/shop/runs", map[string]any{}, nil); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("a read token started a run: %v", err)
	}
	id := strings.TrimSpace(runCLI(t, l, []string{"token", "list", "--jq", `.items[] | select(.name == "ci") | .id`}))
	runCLI(t, l, []string{"token", "revoke", id})
	if err := l.ClientAs(t, tok).Do(ctx, http.MethodGet, "/api/v1/users/me", nil, nil); err == nil {
		t.Error("a revoked token still works")
	}
	if err := jsonOf(runCLI(t, l, []string{"user", "create-token", "dee", "deploy", "--json"}), &k); err != nil || k.User != "dee" || k.Token == "" {
		t.Errorf("user create-token: %v %+v", err, k)
	}

	// Teams and project members.
	runCLI(t, l, []string{"team", "create", "ops"})
	runCLI(t, l, []string{"team", "add", "ops", "dee"})
	var tm lathe.Team
	l.Do(t, http.MethodGet, "/api/v1/teams/ops", nil, &tm)
	if len(tm.Members) != 1 || tm.Members[0] != "dee" {
		t.Errorf("team ops after add: %+v", tm)
	}
	runCLI(t, l, []string{"project", "members", "grant", "shop", "write", "--team", "ops"})
	runCLI(t, l, []string{"project", "members", "grant", "shop", "owner", "--user", "dee"})
	members := runCLI(t, l, []string{"project", "members", "list", "shop"})
	if !regexp.MustCompile(`(?m)^-\s+ops\s+write$`).MatchString(members) || !regexp.MustCompile(`(?m)^dee\s+-\s+owner$`).MatchString(members) {
		t.Errorf("members after grants:\n%s", members)
	}
	runCLI(t, l, []string{"project", "members", "revoke", "shop", "--user", "dee"})
	if members := runCLI(t, l, []string{"project", "members", "list", "shop", "--jq", ".items | length"}); strings.TrimSpace(members) != "1" {
		t.Errorf("members after revoke: %s", members)
	}
	runCLI(t, l, []string{"team", "remove", "ops", "dee"})
	runCLI(t, l, []string{"team", "delete", "ops"})
	if got := runCLI(t, l, []string{"team", "list", "--jq", ".items | length"}); strings.TrimSpace(got) != "0" {
		t.Errorf("teams after delete: %s", got)
	}

	// Hook secret: generated (printed once) or chosen (read from stdin).
	if out := runCLI(t, l, []string{"hooks", "secret", "shop"}); !regexp.MustCompile(`\n[0-9a-f]{64}\n`).MatchString(out) {
		t.Errorf("hooks secret printed no generated secret:\n%s", out)
	}
	if out := runCLIStdin(t, l, "chosen-secret-0123456789\n", []string{"hooks", "secret", "shop", "--stdin"}); !strings.Contains(out, "hook secret of shop set") || strings.Contains(out, "chosen-secret") {
		t.Errorf("hooks secret --stdin printed:\n%s", out)
	}

	// Registration tokens.
	out = runCLI(t, l, []string{"agents", "tokens", "create", "farm", "-q"})
	if strings.TrimSpace(out) == "" {
		t.Fatalf("agents tokens create -q printed nothing")
	}
	runCLI(t, l, []string{"agents", "tokens", "revoke", strings.TrimSpace(out)})
	if got := runCLI(t, l, []string{"agents", "tokens", "list", "--jq", `.items[] | select(.name == "farm") | .revoked_at != null`}); strings.TrimSpace(got) != "true" {
		t.Errorf("the revoked registration token is not revoked: %q", got)
	}
}

func jsonOf(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// runCLIStdin is runCLI with stdin.
func runCLIStdin(t *testing.T, l *lathetest.Lathe, stdin string, args []string) string {
	t.Helper()
	var out bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if code := cli.Run(context.Background(), append(args, "--server", l.URL, "--token", l.AdminToken), env); code != 0 {
		t.Fatalf("lathe %v: exit %d\n%s", args, code, out.String())
	}
	return out.String()
}
