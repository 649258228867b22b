package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// What an agent reports about itself (labels, host info) reaches the
// terminal of whoever lists agents: the CLI prints its control characters
// escaped, so an agent cannot clear the screen, retitle the terminal or
// overwrite earlier lines.
func TestAgentsListEscapesControlCharacters(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	host := lathe.HostInfo{Hostname: "box\x1b[2J\x1b]0;pwned\x07", OS: "linux\r", Arch: "amd64", Version: "1\u202egnp.exe"}
	err := l.ClientAs(t, l.RegistrationToken(t)).Do(context.Background(), "POST", "/api/v1/agent/register",
		map[string]any{"name": "evil", "labels": []string{"x\x1b[31mred"}, "host": host}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"agents", "list"}, {"agents", "get", "evil"}} {
		var out bytes.Buffer
		env := &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		if code := cli.Run(context.Background(), append(args, "--server", l.URL, "--token", l.AdminToken), env); code != 0 {
			t.Fatalf("lathe %v: exit %d\n%s", args, code, out.String())
		}
		got := out.String()
		if i := strings.IndexFunc(got, func(r rune) bool { return (r < 0x20 && r != '\n') || r == 0x7f || r == '\u202e' }); i >= 0 {
			t.Errorf("lathe %v printed a raw control character %q:\n%q", args, got[i], got)
		}
		for _, want := range []string{`box\x1b[2J\x1b]0;pwned\a`, `linux\r/amd64`, `1\u202egnp.exe`, `x\x1b[31mred`} {
			if !strings.Contains(got, want) {
				t.Errorf("lathe %v: output lacks %s:\n%s", args, want, got)
			}
		}
	}
}
