// Package initproc lets lathe be the first process of a container (PID 1),
// as `docker run IMAGE lathe agent …` makes it.
//
// The kernel gives PID 1 every process orphaned in its PID namespace: a
// step's background process whose shell has ended, the init of each job's
// sandbox once bwrap has exited. Lathe waits only for the processes it
// started, so as PID 1 each orphan would stay a zombie, one or more a job,
// until the container's process limit fails every job. Started as PID 1,
// lathe therefore starts itself again as PID 2 and stays behind as a
// minimal init, as `docker run --init` would add one: it passes the
// signals a container is stopped or told things with on to that child,
// reaps every process that ends, and exits as the child exits.
package initproc

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// forwarded are the signals passed on to the child. SIGCHLD is kept: it
// says something ended.
var forwarded = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// Supervise, in a process that is PID 1, runs args (os.Args) again as its
// child and returns the child's exit code once it has exited, with ok
// true; a child killed by a signal gives 128 + the signal's number, as a
// shell says it. In any other process it returns at once with ok false.
// A child that cannot be started is reported on stderr with code 1.
func Supervise(args []string) (code int, ok bool) {
	if os.Getpid() != 1 {
		return 0, false
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, append([]os.Signal{syscall.SIGCHLD}, forwarded...)...)
	self, err := os.Executable() // named as it is, so ps shows lathe
	if err != nil {
		self = "/proc/self/exe"
	}
	cmd := exec.Command(self, args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if term.IsTerminal(int(os.Stdin.Fd())) {
		// The child's own process group gets the terminal, so a Ctrl-C
		// reaches it once, from the terminal, and not again from here.
		cmd.SysProcAttr = &syscall.SysProcAttr{Foreground: true, Ctty: 0}
	}
	if err := cmd.Start(); err != nil {
		os.Stderr.WriteString("lathe: as PID 1, start lathe as its child: " + err.Error() + "\n")
		return 1, true
	}
	child := cmd.Process.Pid
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			syscall.Kill(child, sig.(syscall.Signal))
			continue
		}
		if status, done := reap(child); done {
			return exitCode(status), true
		}
	}
	return 1, true // not reached: sigs is never closed
}

// reap waits for every process that has ended, and reports whether child
// was one of them, with its status.
func reap(child int) (syscall.WaitStatus, bool) {
	var childStatus syscall.WaitStatus
	childDone := false
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return childStatus, childDone
		}
		if pid == child {
			childStatus, childDone = status, true
		}
	}
}

func exitCode(status syscall.WaitStatus) int {
	if status.Signaled() {
		return 128 + int(status.Signal())
	}
	return status.ExitStatus()
}
