package executor

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// watched is a process that is not this one's child (the sandbox's init
// is bwrap's), held by a pidfd: its end is waited for in one poll(2)
// instead of reading /proc again and again, and a signal sent through it
// never reaches another process that took its PID since. Without pidfds
// (Linux before 5.3) it falls back to the PID and /proc.
type watched struct {
	pid int
	mu  sync.Mutex // over fd: a release waits for a wait
	fd  int        // the pidfd, -1 without one
}

func watch(pid int) *watched {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		fd = -1
	}
	return &watched{pid: pid, fd: fd}
}

// kill sends the process SIGKILL.
func (w *watched) kill() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd >= 0 {
		unix.PidfdSendSignal(w.fd, unix.SIGKILL, nil, 0)
		return
	}
	syscall.Kill(w.pid, syscall.SIGKILL)
}

// waitGone waits up to d for the process to end (a zombie has ended), and
// reports whether it did.
func (w *watched) waitGone(d time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd < 0 {
		deadline := time.Now().Add(d)
		// Most often gone within a few hundred microseconds: look again
		// soon, then less often.
		for wait := 100 * time.Microsecond; running(w.pid); wait = min(2*wait, 2*time.Millisecond) {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(wait)
		}
		return true
	}
	deadline := time.Now().Add(d)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}, max(ms, 0))
		switch {
		case n > 0:
			return true
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil, ms <= 0:
			return false
		}
	}
}

// release closes the pidfd.
func (w *watched) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd >= 0 {
		unix.Close(w.fd)
		w.fd = -1
	}
}
