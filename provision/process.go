package provision

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process starts agents as `lathe agent` processes on the server's
// machine, each with a work directory Dir/NAME. Its processes are found
// again after a restart of the server by their command line (the work
// directory under Dir), so none is forgotten.
type Process struct {
	// Binary is the lathe executable (the server's own, os.Executable).
	Binary string
	// Dir holds the agents' work directories (under the data directory).
	Dir string
	// Args are more flags for every agent (e.g. its executor's).
	Args []string

	mu       sync.Mutex
	children map[int]chan struct{} // closed when the child is reaped
}

// Start starts `lathe agent` for s in its own process group; its output
// goes to agent.log in its work directory.
func (p *Process) Start(ctx context.Context, s Spec) (string, error) {
	dir := filepath.Join(p.Dir, s.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("agent work directory: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", fmt.Errorf("agent log: %w", err)
	}
	defer logFile.Close()
	args := []string{"agent", "--server", s.Server, "--name", s.Name, "--labels", strings.Join(s.Labels, ","), "--work-dir", dir}
	if s.OneShot {
		args = append(args, "--one-shot")
	}
	cmd := exec.Command(p.Binary, append(args, p.Args...)...)
	cmd.Env = append(os.Environ(), "LATHE_REGISTRATION_TOKEN="+s.RegistrationToken, "LATHE_TOKEN=")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s agent: %w", p.Binary, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	if p.children == nil {
		p.children = map[int]chan struct{}{}
	}
	p.children[cmd.Process.Pid] = done
	p.mu.Unlock()
	go func() {
		cmd.Wait()
		close(done)
		p.mu.Lock()
		delete(p.children, cmd.Process.Pid)
		p.mu.Unlock()
	}()
	return strconv.Itoa(cmd.Process.Pid), nil
}

// Stop sends the agent SIGTERM: it finishes its job, then exits.
func (p *Process) Stop(ctx context.Context, group, name, handle string) error {
	pid, err := strconv.Atoi(handle)
	if err != nil || pid <= 1 {
		return fmt.Errorf("agent %s: handle %q is not a PID", name, handle)
	}
	if !p.owns(pid, name) {
		return nil // gone already
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("stop agent %s (PID %d): %w", name, pid, err)
	}
	return nil
}

// Kill stops every agent process of Dir at once (their process groups
// get SIGTERM, then SIGKILL after grace) and waits for those it started.
func (p *Process) Kill(grace time.Duration) {
	ls, _ := p.List(context.Background(), "")
	for _, l := range ls {
		if pid, err := strconv.Atoi(l.Handle); err == nil {
			syscall.Kill(-pid, syscall.SIGTERM)
		}
	}
	deadline := time.After(grace)
	for _, l := range ls {
		pid, _ := strconv.Atoi(l.Handle)
		p.mu.Lock()
		done := p.children[pid]
		p.mu.Unlock()
		if done == nil {
			continue
		}
		select {
		case <-done:
		case <-deadline:
			syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
	}
}

// List finds the live agent processes whose work directory is under Dir
// (all of them when group is ""; names start with the group's).
func (p *Process) List(ctx context.Context, group string) ([]Listed, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []Listed
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		name := p.agentOf(pid)
		if name == "" || (group != "" && !strings.HasPrefix(name, group+"-")) {
			continue
		}
		out = append(out, Listed{Name: name, Handle: strconv.Itoa(pid)})
	}
	return out, nil
}

func (p *Process) owns(pid int, name string) bool { return p.agentOf(pid) == name }

// agentOf returns the name of the agent that live process pid is, or "".
func (p *Process) agentOf(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	if len(args) < 2 || args[1] != "agent" {
		return ""
	}
	var name, dir string
	for i := 2; i+1 < len(args); i++ {
		switch args[i] {
		case "--name":
			name = args[i+1]
		case "--work-dir":
			dir = args[i+1]
		}
	}
	if name == "" || dir != filepath.Join(p.Dir, name) {
		return ""
	}
	if st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); bytes.Contains(st, []byte(") Z ")) {
		return ""
	}
	return name
}
