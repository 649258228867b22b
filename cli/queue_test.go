package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// The queue commands against a server with no agent, so runs stay queued:
// `lathe run --pr` enqueues a pull request, `promote` moves a run to the
// front, `sequence` reads and sets where run numbers stand, `dequeue`
// cancels a pull request's runs.
func TestQueueCommands(t *testing.T) {
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps: [true]\n"})
	lathetest.Git(t, repo, "update-ref", "refs/pull/7/head", "main")
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "cq", repo)
	lathe := func(args ...string) (int, string) {
		var out bytes.Buffer
		env := &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		code := cli.Run(context.Background(), append(args, "--server", l.URL, "--token", l.AdminToken), env)
		return code, out.String()
	}
	code, out := lathe("run", "cq", "--pr", "7")
	if code != 0 || !strings.Contains(out, "main #1 of cq") || !strings.Contains(out, "(refs/pull/7/head)") {
		t.Fatalf("lathe run --pr 7: exit %d\n%s", code, out)
	}
	var runID int64
	if _, err := fmt.Sscanf(out, "run %d:", &runID); err != nil {
		t.Fatalf("no run ID in %q", out)
	}
	if code, out := lathe("promote", fmt.Sprint(runID)); code != 0 || !strings.Contains(out, "front of its pipeline's queue") {
		t.Errorf("lathe promote: exit %d\n%s", code, out)
	}
	if code, out := lathe("sequence", "cq", "main"); code != 0 || !strings.Contains(out, "the next run of main is #2") {
		t.Errorf("lathe sequence: exit %d\n%s", code, out)
	}
	if code, out := lathe("sequence", "cq", "main", "--next", "40"); code != 0 || !strings.Contains(out, "is #40") {
		t.Errorf("lathe sequence --next 40: exit %d\n%s", code, out)
	}
	if code, out := lathe("sequence", "cq", "main", "--next", "3"); code == 0 || !strings.Contains(out, "only moves forward") {
		t.Errorf("lathe sequence --next 3 after 40: exit %d\n%s", code, out)
	}
	if code, out := lathe("dequeue", "cq", "--pr", "7"); code != 0 || !strings.Contains(out, fmt.Sprintf("run %d: main #1", runID)) ||
		!strings.Contains(out, "canceled") {
		t.Errorf("lathe dequeue --pr 7: exit %d\n%s", code, out)
	}
	if code, out := lathe("dequeue", "cq", "--pr", "7"); code != 0 || !strings.Contains(out, "no queued or running run") {
		t.Errorf("lathe dequeue --pr 7 again: exit %d\n%s", code, out)
	}
	if code, _ := lathe("dequeue", "cq"); code != 2 {
		t.Errorf("lathe dequeue without --ref or --pr: exit %d; want 2 (usage)", code)
	}
}
