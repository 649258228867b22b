// Package childwait waits for child processes without parking an OS
// thread in a blocking wait: the wait goes through the runtime's network
// poller (a pidfd on Linux), so a process that spends most of its life
// waiting for its children (an agent waiting for git and its sandboxes)
// leaves the Go scheduler idle meanwhile. A goroutine blocked in waitid
// keeps its P busy in a system call, which keeps the runtime's monitor
// thread polling every 20 µs, about a third of an idle agent's CPU.
package childwait

import "os/exec"

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
