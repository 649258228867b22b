//go:build linux

package childwait

import (
	"os"

	"golang.org/x/sys/unix"
)

// exited returns once process pid (a child not yet waited for, so its PID
// cannot be reused) has exited, or at once when no pidfd can be had (a
// kernel before 5.3): cmd.Wait then blocks as it always did.
func exited(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	// A non-blocking descriptor: os registers it with the poller.
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// A pidfd becomes readable when its process exits; WNOWAIT leaves the
	// exit status for cmd.Wait to collect.
	rc.Read(func(fd uintptr) bool {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		return err != nil || info.Signo != 0
	})
}
