package cli

import (
	"testing"

	lathe "github.com/lathe-ci/lathe"
)

// The retry notice says why an attempt ended as `lathe exec` says it: the
// server's reason first, else the first step that did not succeed.
func TestAttemptEnd(t *testing.T) {
	t.Parallel()
	exit := func(n int) *int { return &n }
	job := &lathe.Job{TimeoutSec: 90, Steps: []lathe.StepDef{
		{Name: "make", Run: "make"},
		{Name: "tests", Run: "go test ./..."},
	}}
	for _, c := range []struct {
		name string
		a    lathe.Attempt
		want string
	}{
		{"a step's exit", lathe.Attempt{Status: lathe.StatusFailed, Steps: []*lathe.Step{
			{Index: 0, Status: lathe.StatusSuccess, ExitCode: exit(0)},
			{Index: 1, Status: lathe.StatusFailed, ExitCode: exit(2)},
			{Index: 2, Status: lathe.StatusSkipped},
		}}, "exit status 2 in step 1/2"},
		{"a named step", lathe.Attempt{Status: lathe.StatusFailed, Steps: []*lathe.Step{
			{Index: 2, Status: lathe.StatusFailed, ExitCode: exit(1)},
		}}, "exit status 1 in step 2/2: tests"},
		{"the checkout", lathe.Attempt{Status: lathe.StatusFailed, Steps: []*lathe.Step{
			{Index: 0, Status: lathe.StatusFailed},
		}}, "failed in the checkout"},
		{"a timeout", lathe.Attempt{Status: lathe.StatusTimedOut, Steps: []*lathe.Step{
			{Index: 1, Status: lathe.StatusTimedOut, ExitCode: exit(-1)},
		}}, "timed out after 1m30s in step 1/2"},
		{"the server's reason", lathe.Attempt{Status: lathe.StatusLost, EndReason: "lost: agent stopped answering"}, "lost: agent stopped answering"},
		{"no step", lathe.Attempt{Status: lathe.StatusLost}, "lost"},
	} {
		if got := attemptEnd(job, &c.a); got != c.want {
			t.Errorf("%s: attemptEnd = %q, want %q", c.name, got, c.want)
		}
	}
}
