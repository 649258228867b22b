// Package childwait waits for child processes without parking an OS
// thread in a blocking wait: the wait goes through the runtime's network
// poller (a pidfd on Linux), so a process that spends most of its life
// waiting for its children (an agent waiting for git and its sandboxes)
// leaves the Go scheduler idle meanwhile. A goroutine blocked in waitid
// keeps its P busy in a system call, which keeps the runtime's monitor
// thread polling every 20 µs, about a third of an idle agent's CPU.
package childwait

import (
	"os"
	"os/exec"
	"sync"
)

// Wait waits for cmd, started with Start, as cmd.Wait does (it returns
// cmd.Wait's error), first waiting for the process to exit in the poller.
func Wait(cmd *exec.Cmd) error {
	exited(cmd.Process.Pid)
	return cmd.Wait()
}

// Run starts cmd and waits for it, as cmd.Run does.
func Run(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	return Wait(cmd)
}

// devNull is /dev/null, opened once for reading and writing (nil when it
// cannot be).
var devNull = sync.OnceValue(func() *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	return f
})

// NullStreams connects each of cmd's standard streams left nil to one
// /dev/null the process keeps open, as os/exec would connect it to a
// /dev/null it opens anew for every stream of every command (a path
// lookup and an open each: 4% of an agent's CPU in the throughput
// benchmark). Call it before Start.
func NullStreams(cmd *exec.Cmd) {
	f := devNull()
	if f == nil {
		return // os/exec opens its own
	}
	if cmd.Stdin == nil {
		cmd.Stdin = f
	}
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	if cmd.Stderr == nil {
		cmd.Stderr = f
	}
}
