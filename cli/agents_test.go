package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// The admin commands manage registration tokens, agents and groups.
func TestAgentsCommands(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	lathe := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		env := &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		if code := cli.Run(context.Background(), append(args, "--server", l.URL, "--token", l.AdminToken), env); code != 0 {
			t.Fatalf("lathe %v: exit %d\n%s", args, code, out.String())
		}
		return out.String()
	}
	out := lathe("agents", "tokens", "create", "farm")
	secret := regexp.MustCompile(`lathe_reg_[A-Z0-9]+`).FindString(out)
	if secret == "" {
		t.Fatalf("tokens create printed no secret:\n%s", out)
	}
	l.StartAgent(t, secret, "w1", "", "linux")
	l.StartAgent(t, secret, "w2", "", "linux")
	if out := lathe("agents", "tokens", "list"); !strings.Contains(out, "farm") || strings.Contains(out, secret) {
		t.Errorf("tokens list shows no token, or its secret:\n%s", out)
	}
	lathe("agents", "update", "w1", "w2", "--disabled", "--labels", "linux,big")
	if out := lathe("agents", "list", "--disabled=true", "--label", "big"); !strings.Contains(out, "w1") || !strings.Contains(out, "w2") {
		t.Errorf("list after bulk update:\n%s", out)
	}
	lathe("agents", "groups", "create", "pool", "--description", "the pool")
	lathe("agents", "groups", "add", "pool", "w2")
	if out := lathe("agents", "groups", "agents", "pool"); !strings.Contains(out, "w2") || strings.Contains(out, "w1") {
		t.Errorf("group members:\n%s", out)
	}
	if out := lathe("agents", "get", "w2"); !strings.Contains(out, "pool") || !strings.Contains(out, "disabled") {
		t.Errorf("agents get w2:\n%s", out)
	}
	lathe("agents", "tokens", "revoke", "1")
	// A revoked token registers no more agents; those it registered keep working.
	err := l.ClientAs(t, secret).Do(context.Background(), http.MethodPost, "/api/v1/agent/register",
		map[string]any{"name": "w3", "labels": []string{"linux"}}, nil)
	if client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("registering with a revoked token: %v; want 401", err)
	}
	if out := lathe("agents", "list"); !strings.Contains(out, "w1") || strings.Contains(out, "w3") {
		t.Errorf("agents after the revoke:\n%s", out)
	}
	lathe("agents", "groups", "delete", "pool")
	err = l.Client.Do(context.Background(), http.MethodGet, "/api/v1/agent-groups/pool", nil, nil)
	if client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("the deleted group: %v; want 404", err)
	}
	if out := lathe("agents", "get", "w2"); strings.Contains(out, "pool") {
		t.Errorf("w2 is still in the deleted group:\n%s", out)
	}
}
