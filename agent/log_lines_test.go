package agent_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// logLinesPipeline's steps end their output without a newline, in plain
// text and in a masked secret: a kind-file secret (whose value ends in a
// newline, as files do) printed with cat, and an env secret echoed.
const logLinesPipeline = `
jobs:
  lines:
    secrets: [FILESEC, ENVSEC]
    steps:
      - printf 'no newline at end'
      - cat "$FILESEC"
      - printf '%s' "$ENVSEC"
      - echo "$ENVSEC"; printf 'last'
`

// Every step's header starts a line of its own, whatever the step before
// it printed last: output that did not end its line gets a newline, and a
// masked value ending in a newline (a file secret, as cat prints it) keeps
// that newline in the log.
func TestEveryStepHeaderStartsALine(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": logLinesPipeline})
	l.Project(t, "lines", repo)
	l.Do(t, http.MethodPost, "/api/v1/projects/lines/secrets", map[string]string{"name": "FILESEC", "value": "file-s3cret-v4lue\n", "kind": "file"}, nil)
	l.Do(t, http.MethodPost, "/api/v1/projects/lines/secrets", map[string]string{"name": "ENVSEC", "value": "env-s3cret-v4lue\n"}, nil)
	run := l.Wait(t, l.Trigger(t, "lines", "", "").ID, 2*time.Minute)
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	j := lathetest.JobByName(t, run, "lines")
	log := l.Log(t, j.ID)
	want := "$ git checkout " + commit + "\n" +
		"$ printf 'no newline at end'\nno newline at end\n" +
		"$ cat \"$FILESEC\"\n***\n" +
		"$ printf '%s' \"$ENVSEC\"\n***\n" +
		"$ echo \"$ENVSEC\"; printf 'last'\n***\n\nlast\n"
	if j.Status != lathe.StatusSuccess || log != want {
		t.Errorf("job: %s with log\n%s\nwant success with log\n%s", j.Status, log, want)
	}
}
