package cli_test

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// `lathe run --follow` and `lathe logs -f` follow a retried job through
// every attempt, saying before each retry why the attempt before it ended
// (as `lathe exec` does), and end only when the job does; `lathe logs
// --attempt N` reads or follows one attempt.
func TestFollowRetriedJobAcrossAttempts(t *testing.T) {
	t.Parallel()
	bin := lathetest.Binary(t)
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "r3", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  slowfail:
    retry: {count: 2, on: [failure]}
    steps: ['echo "attempt $LATHE_ATTEMPT"; sleep 1; echo "end of $LATHE_ATTEMPT"; exit 1']
`}))
	auth := []string{"--server", l.URL, "--token", l.AdminToken}
	everyAttempt := []string{
		`\[slowfail\] attempt 1`, `\[slowfail\] end of 1`,
		`\[slowfail\] ↻ exit status 1 in step 1/1: attempt 2 of 3`,
		`\[slowfail\] attempt 2`, `\[slowfail\] end of 2`,
		`\[slowfail\] ↻ exit status 1 in step 1/1: attempt 3 of 3`,
		`\[slowfail\] attempt 3`, `\[slowfail\] end of 3`,
		`default +slowfail +\d+ +failed`,
	}

	run := lathetest.StartProcess(t, bin, append([]string{"run", "r3", "--follow"}, auth...)...)
	if code := run.Wait(t, 2*time.Minute); code != 1 {
		t.Errorf("run --follow of a failing run exited %d, want 1", code)
	}
	out := run.Output.String()
	inOrder(t, "run --follow", out, everyAttempt)
	if n := strings.Count(out, "↻"); n != 2 {
		t.Errorf("run --follow gave %d retry notices, want 2:\n%s", n, out)
	}
	id := regexp.MustCompile(`(?m)^run (\d+):`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("run --follow did not say which run:\n%s", out)
	}
	runID, _ := strconv.ParseInt(id[1], 10, 64)
	if r := l.Run(t, runID); r.Status != lathe.StatusFailed || r.Jobs[0].Attempt != 3 {
		t.Fatalf("run %s ended %s after %d attempts, want failed after 3", id[1], r.Status, r.Jobs[0].Attempt)
	}

	// Following a run that is over replays every attempt.
	again := lathetest.StartProcess(t, bin, append([]string{"logs", "-f", id[1]}, auth...)...)
	again.Wait(t, time.Minute)
	inOrder(t, "logs -f", again.Output.String(), everyAttempt)

	// One attempt, read or followed.
	for _, args := range [][]string{{"logs", id[1], "--attempt", "2"}, {"logs", "-f", id[1], "--attempt", "2"}} {
		b, _ := exec.Command(bin, append(args, auth...)...).CombinedOutput()
		got := string(b)
		inOrder(t, strings.Join(args, " "), got, []string{`\[slowfail\] attempt 2`, `\[slowfail\] end of 2`})
		if strings.Contains(got, "attempt 1") || strings.Contains(got, "attempt 3") || strings.Contains(got, "↻") {
			t.Errorf("%s printed more than attempt 2:\n%s", strings.Join(args, " "), got)
		}
	}
	cmd := exec.Command(bin, append([]string{"logs", id[1], "--attempt", "4"}, auth...)...)
	b, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(b), "no job of run "+id[1]+" has an attempt 4") {
		t.Errorf("logs --attempt 4 exited %d:\n%s", cmd.ProcessState.ExitCode(), b)
	}
}

// inOrder fails the test unless out has a line matching each pattern, in
// that order.
func inOrder(t *testing.T, what, out string, patterns []string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	i := 0
	for _, p := range patterns {
		re := regexp.MustCompile(`^` + p)
		for i < len(lines) && !re.MatchString(strings.TrimSpace(lines[i])) {
			i++
		}
		if i == len(lines) {
			t.Errorf("%s: no line matching %q after the ones before it:\n%s", what, p, out)
			return
		}
		i++
	}
}
