package cli_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// `lathe agent` that cannot get or use a credential exits non-zero with
// what the server said: a bad, revoked or missing registration token, or a
// stored credential of an agent an admin deleted. Nothing exits 0 silently.
func TestAgentProcessWithoutValidCredentialFails(t *testing.T) {
	bin := lathetest.Binary(t)
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	var reg struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	l.Do(t, "POST", "/api/v1/registration-tokens", map[string]any{"name": "soon revoked"}, &reg)
	l.Do(t, "POST", fmt.Sprintf("/api/v1/registration-tokens/%d/revoke", reg.ID), nil, nil)

	registered := t.TempDir()
	ok := lathetest.StartProcess(t, bin, agentArgs(l, registered, "--token", l.RegistrationToken(t))...)
	waitFor(t, "the agent to register", 30*time.Second, func() bool {
		var a lathe.Agent
		return l.Client.Do(t.Context(), "GET", "/api/v1/agents/proc", nil, &a) == nil
	})
	ok.Signal(t, syscall.SIGTERM)
	if code := ok.Wait(t, 20*time.Second); code != 0 {
		t.Fatalf("agent stopped with SIGTERM: exit %d\n%s", code, ok.Output.String())
	}
	l.Do(t, "DELETE", "/api/v1/agents/proc", nil, nil)

	for _, tc := range []struct {
		what, dir string
		token     []string
		want      string
	}{
		{"bad registration token", t.TempDir(), []string{"--token", "lathe_reg_BOGUS"}, "unknown or revoked registration token"},
		{"revoked registration token", t.TempDir(), []string{"--token", reg.Token}, "unknown or revoked registration token"},
		{"no registration token", t.TempDir(), nil, "register with --token"},
		{"credential of a deleted agent", registered, nil, "unknown agent credential"},
	} {
		p := lathetest.StartProcess(t, bin, agentArgs(l, tc.dir, tc.token...)...)
		code := p.Wait(t, 30*time.Second)
		if out := p.Output.String(); code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d, want non-zero with %q; output:\n%s", tc.what, code, tc.want, out)
		}
	}
}
