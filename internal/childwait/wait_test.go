package childwait

import (
	"bytes"
	"errors"
	"os/exec"
	"testing"
)

func TestRunKeepsTheExitStatusAndOutput(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.05; echo out; exit 3")
	var out bytes.Buffer
	cmd.Stdout = &out
	err := Run(cmd)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("Run = %v, want exit status 3", err)
	}
	if out.String() != "out\n" {
		t.Fatalf("output %q, want %q", out.String(), "out\n")
	}
	if cmd.ProcessState == nil || !cmd.ProcessState.Exited() {
		t.Fatalf("process state %v after Run", cmd.ProcessState)
	}
}

func TestWaitOnAProcessThatAlreadyExited(t *testing.T) {
	cmd := exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited(cmd.Process.Pid) // the exit is seen, and left to cmd.Wait
	if err := Wait(cmd); err != nil {
		t.Fatalf("Wait = %v", err)
	}
}

func TestWaitReportsAKill(t *testing.T) {
	cmd := exec.Command("/bin/sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	err := Wait(cmd)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != -1 {
		t.Fatalf("Wait = %v, want killed", err)
	}
}

// NullStreams gives each stream left nil the one /dev/null: the child
// reads nothing and writes into it, command after command; a stream the
// caller set stays its own.
func TestNullStreamsConnectsUnsetStreamsToDevNull(t *testing.T) {
	for range 2 {
		cmd := exec.Command("/bin/sh", "-c", `cat; echo out; echo err >&2; readlink /proc/self/fd/0 /proc/self/fd/1`)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		NullStreams(cmd)
		if err := Run(cmd); err != nil {
			t.Fatalf("run: %v (%s)", err, errb.String())
		}
		if errb.String() != "err\n" {
			t.Errorf("stderr = %q; want the caller's buffer to get err", errb.String())
		}
	}
	cmd := exec.Command("/bin/sh", "-c", `test "$(readlink /proc/self/fd/0)" = /dev/null`)
	NullStreams(cmd)
	if err := Run(cmd); err != nil {
		t.Errorf("stdin is not /dev/null: %v", err)
	}
}
