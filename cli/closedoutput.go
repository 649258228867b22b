package cli

import (
	"context"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// exitClosedOutput is the shell's code for a command stopped by SIGPIPE.
const exitClosedOutput = 128 + int(syscall.SIGPIPE)

// stopOnClosedOutput ends ctx when standard output or error is a pipe whose
// reader has gone (`lathe exec | head`): without it, Go's runtime kills the
// process at its next write there, and whatever the command had set up on
// disk (a job's workspace, its git worktree) is left behind. With it, the
// write fails, ctx ends as on Ctrl-C, and the command cleans up before it
// exits; closed reports whether that happened. Call stop when the command
// ends.
func stopOnClosedOutput(ctx context.Context) (_ context.Context, closed func() bool, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var seen atomic.Bool
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGPIPE)
	go func() {
		for {
			select {
			case <-sigs:
				// A write to any other broken pipe (a child's stdin) raises
				// SIGPIPE too: only a gone reader of stdout or stderr counts.
				if outputGone() {
					seen.Store(true)
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, seen.Load, func() {
		signal.Stop(sigs)
		cancel()
	}
}

// outputGone reports whether standard output or error is a pipe with no
// reader left (poll says POLLERR on such a pipe's write end).
func outputGone() bool {
	fds := []unix.PollFd{{Fd: 1, Events: unix.POLLOUT}, {Fd: 2, Events: unix.POLLOUT}}
	if _, err := unix.Poll(fds, 0); err != nil {
		return false
	}
	return fds[0].Revents&unix.POLLERR != 0 || fds[1].Revents&unix.POLLERR != 0
}
