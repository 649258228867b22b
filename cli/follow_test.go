package cli_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// `lathe logs -f` prints a step's bytes as the step wrote them, even those
// that are not UTF-8 (the stream sends them as base64 and the follower
// decodes them), instead of U+FFFD in their place.
func TestLogsFollowPrintsNonUTF8BytesExactly(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "bin", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  bin:
    steps:
      - |
        printf 'raw:\377\376\200:end\n'
`}))
	run := l.Trigger(t, "bin", "", "")
	var out bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), []string{"logs", "-f", strconv.FormatInt(run.ID, 10), "--server", l.URL, "--token", l.AdminToken}, env)
	if code != 0 {
		t.Fatalf("lathe logs -f: exit %d\n%s", code, out.String())
	}
	if want := []byte("[bin] raw:\xff\xfe\x80:end\n"); !bytes.Contains(out.Bytes(), want) {
		t.Errorf("lathe logs -f printed %q; want it to hold %q", out.String(), want)
	}
}
