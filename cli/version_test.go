package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// `lathe version` and `lathe --version` print the binary's version, commit
// and Go version and the server's (unknown when it does not say); the
// completion scripts and "did you mean" come from the command tree.
func TestVersionCompletionAndSuggestions(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	run := func(getenv map[string]string, args ...string) (int, string) {
		var out bytes.Buffer
		env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(k string) string { return getenv[k] }}
		return cli.Run(context.Background(), args, env), out.String()
	}
	for _, args := range [][]string{{"version", "--server", l.URL}, {"--version"}, {"--version", "--server", l.URL}} {
		code, out := run(map[string]string{"LATHE_SERVER": l.URL}, args...)
		if code != 0 || !strings.Contains(out, "lathe ") || !strings.Contains(out, "commit: ") || !strings.Contains(out, "go: go1.") {
			t.Errorf("lathe %v: exit %d\n%s", args, code, out)
		}
		if !strings.Contains(out, "server: ") || strings.Contains(out, "not reachable") || !strings.Contains(out, l.URL) {
			t.Errorf("lathe %v does not give the server's version:\n%s", args, out)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if code, out := run(nil, "completion", shell); code != 0 || !strings.Contains(out, "lathe") {
			t.Errorf("completion %s: exit %d\n%.200s", shell, code, out)
		}
	}
	if _, out := run(nil, "__complete", "run", "shop", "--fol"); !strings.Contains(out, "--follow") {
		t.Errorf("completion does not know run's --follow:\n%s", out)
	}
	// -o completes with the formats, not with file names (directive 4: no files).
	for _, args := range [][]string{{"runs", "-o", ""}, {"status", "1", "--output", "y"}} {
		if _, out := run(nil, append([]string{"__complete"}, args...)...); !strings.HasPrefix(out, "json\nyaml\ntable\n:4\n") {
			t.Errorf("completion of lathe %s:\n%s\nwant the output formats", strings.Join(args, " "), out)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"stauts", "1"}, "Did you mean this?\n\tstatus"},
		{[]string{"agents", "grups"}, "Did you mean this?\n\tgroups"},
		{[]string{"user", "paswd"}, "Did you mean this?\n\tpasswd"},
		// Flags too: two edits at most.
		{[]string{"runs", "--projcet", "shop"}, "unknown flag: --projcet (did you mean --project?)"},
		{[]string{"logs", "1", "--folow"}, "unknown flag: --folow (did you mean --follow?)"},
		// Arguments that do not fit a command say so before its usage.
		{[]string{"branch", "get", "shop"}, "lathe: lathe branch get PROJECT BRANCH: the arguments shop do not fit (usage below)\n\nUsage:"},
		{[]string{"config-errors"}, "lathe: lathe config-errors PROJECT: arguments missing (usage below)"},
		{[]string{"run", "shop", "ci"}, "a pipeline is named with --pipeline: lathe run shop --pipeline ci"},
		// Output flags that ask for two different things are refused, not settled silently.
		{[]string{"runs", "--json", "-o", "yaml"}, "--json and --output yaml ask for different outputs"},
		{[]string{"runs", "--jq", ".items", "-o", "table"}, "--jq and --output table ask for different outputs"},
		{[]string{"runs", "--json", "-q"}, "--json and --quiet ask for different outputs"},
	} {
		if code, out := run(nil, tc.args...); code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("lathe %v: exit %d, want 2 and %q:\n%s", tc.args, code, tc.want, out)
		}
	}
}
