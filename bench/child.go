package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Child processes of the agent-facing sections: the real `lathe` binary run
// as `lathe agent` and `lathe server`. Each runs in its own process group
// (a Ctrl-C at the terminal reaches the benchmark, which stops them in
// order) and dies with the benchmark (Pdeathsig) if it is killed.

// child is a process the benchmark started and must stop.
type child struct {
	name   string
	cmd    *exec.Cmd
	out    lockedBuffer // stdout and stderr
	exited chan struct{}
	err    error // Wait's, once exited is closed
}

func startChild(name, bin string, args ...string) (*child, error) {
	c := &child{name: name, exited: make(chan struct{})}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = withoutLatheEnv()
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM (an agent drains, a server shuts down), waits up to
// timeout, then kills the process. It reports a process that had to be
// killed or exited with an error, with the tail of its output.
func (c *child) stop(timeout time.Duration) error {
	if !c.running() {
		return c.exitErr("had exited")
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return c.exitErr("exited after SIGTERM")
	case <-time.After(timeout):
	}
	c.kill()
	return fmt.Errorf("%s did not stop within %s of SIGTERM; killed\n%s", c.name, timeout, tailString(c.out.String(), 10))
}

// kill sends SIGKILL to the process (not its group) and waits for it.
func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
	}
}

func (c *child) exitErr(what string) error {
	if c.err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %v\n%s", c.name, what, c.err, tailString(c.out.String(), 10))
}

// procCPU is a process's CPU use from /proc/PID/stat: its own (user +
// system) and that of its children it has waited for (an agent's git and
// step processes).
type procCPU struct{ self, children time.Duration }

func (p procCPU) sub(q procCPU) procCPU { return procCPU{p.self - q.self, p.children - q.children} }

// clockTick is USER_HZ, the unit of /proc/PID/stat's times: 100 on Linux
// everywhere the benchmark runs.
const clockTick = 10 * time.Millisecond

func readProcCPU(pid int) (procCPU, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procCPU{}, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return procCPU{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return procCPU{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var t [4]int64
	for k := range t { // utime, stime, cutime, cstime are fields 14–17; f[0] is field 3
		if t[k], err = strconv.ParseInt(f[11+k], 10, 64); err != nil {
			return procCPU{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
	}
	return procCPU{self: time.Duration(t[0]+t[1]) * clockTick, children: time.Duration(t[2]+t[3]) * clockTick}, nil
}

// childrenCPU is the CPU of this process's waited-for children so far.
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// latheBinary builds the lathe command once per benchmark run.
func (b *bench) latheBinary(ctx context.Context) (string, error) {
	if b.bin != "" {
		return b.bin, nil
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(b.tmp, "bin", "lathe")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/lathe")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as the README builds it: static, quicker to start
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/lathe: %v\n%s", err, out)
	}
	b.bin = bin
	return bin, nil
}

// startAgent starts `lathe agent` registering as name with regToken. extra
// are further flags (--heartbeat, --poll-wait …).
func startAgent(bin, server, regToken, name, workDir string, labels []string, extra ...string) (*child, error) {
	args := append([]string{"agent", "--server", server, "--token", regToken, "--name", name,
		"--labels", strings.Join(labels, ","), "--work-dir", workDir, "--log-level", "warn"}, extra...)
	return startChild("agent "+name, bin, args...)
}

// stopAll stops children concurrently (agents drain in parallel) and joins their errors.
func stopAll(cs []*child, timeout time.Duration) error {
	errs := make(chan error, len(cs))
	for _, c := range cs {
		go func() { errs <- c.stop(timeout) }()
	}
	var all []error
	for range cs {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}
