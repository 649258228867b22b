package executor

import (
	"os/exec"
	"testing"
	"time"
)

// A watched process is seen running, then gone once killed: through its
// pidfd, and through /proc where there is none (a kernel before 5.3).
func TestWatchedProcessEnds(t *testing.T) {
	for _, pidfd := range []bool{true, false} {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w := watch(cmd.Process.Pid)
		if pidfd && w.fd < 0 {
			t.Fatal("no pidfd on this kernel")
		}
		if !pidfd {
			w.release() // the fallback: the PID alone
		}
		if w.waitGone(20 * time.Millisecond) {
			t.Errorf("pidfd %v: a running sleep was seen gone", pidfd)
		}
		w.kill()
		if !w.waitGone(5 * time.Second) {
			t.Errorf("pidfd %v: a killed sleep was not seen gone within 5 s", pidfd)
		}
		w.release()
		if err := cmd.Wait(); err == nil {
			t.Errorf("pidfd %v: the sleep was not killed", pidfd)
		}
	}
}
