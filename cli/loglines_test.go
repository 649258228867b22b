package cli_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// `lathe logs --tail N` prints each job's last lines, `--grep TEXT` the
// lines containing it (any case) with their numbers, and both together the
// last of those; neither goes with -f.
func TestLogsTailAndGrep(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "count", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  count:
    steps:
      - for i in $(seq 1 30); do if [ $((i % 10)) = 0 ]; then echo "WARN at $i"; else echo "line $i"; fi; done
`}))
	run := l.Wait(t, l.Trigger(t, "count", "", "").ID, time.Minute)
	if run.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", run.Status)
	}
	r := fmt.Sprint(run.ID)
	log := l.Log(t, run.Jobs[0].ID)
	all := strings.Split(strings.TrimSuffix(log, "\n"), "\n")

	if got, want := runCLI(t, l, []string{"logs", r, "--tail", "3"}), jobLines("count", strings.Join(all[len(all)-3:], "\n")+"\n"); got != want {
		t.Errorf("--tail 3 printed\n%s\nwant\n%s", got, want)
	}
	var want strings.Builder
	for i, line := range all {
		if strings.Contains(strings.ToLower(line), "warn at") {
			fmt.Fprintf(&want, "[count] %d: %s\n", i+1, line)
		}
	}
	if got := runCLI(t, l, []string{"logs", r, "--grep", "warn AT"}); got != want.String() || strings.Count(got, "\n") != 4 { // the step's command line, and three lines
		t.Errorf("--grep printed\n%s\nwant\n%s", got, want.String())
	}
	if got := runCLI(t, l, []string{"logs", r, "--grep", "warn at", "--tail", "1", "--timestamps"}); !regexp.MustCompile(
		`^\[count\] \d{4}-\d\d-\d\dT[0-9:.]{15}Z \d+: WARN at 30\n$`).MatchString(got) {
		t.Errorf("--grep --tail 1 --timestamps printed %q", got)
	}
	cov2Refused(t, l, 1, "not with -f", "logs", r, "-f", "--tail", "2")
	cov2Refused(t, l, 1, "--tail 20000", "logs", r, "--tail", "20000")
}
