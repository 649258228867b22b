package lathetest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/agent"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/executor"
)

// RegistrationToken creates a registration token through the API and returns its secret.
func (l *Lathe) RegistrationToken(tb testing.TB) string {
	tb.Helper()
	var rt lathe.RegistrationToken
	l.Do(tb, http.MethodPost, "/api/v1/registration-tokens", map[string]string{"name": tb.Name()}, &rt)
	if rt.Token == "" {
		tb.Fatal("create registration token: no secret in the answer")
	}
	return rt.Token
}

// RemoteAgent is an agent running in the test process that registered with
// a registration token, as `lathe agent` does.
type RemoteAgent struct {
	Name    string
	WorkDir string
	Token   string // its credential
	stop    func()
}

// Stop stops the agent (canceling any job it runs) and waits for it.
func (r *RemoteAgent) Stop() { r.stop() }

// StartAgent registers an agent named name with labels using regToken and
// runs it until the test ends (or Stop). workDir "" means a temp dir.
func (l *Lathe) StartAgent(tb testing.TB, regToken, name, workDir string, labels ...string) *RemoteAgent {
	tb.Helper()
	return StartAgentAt(tb, l.URL, regToken, name, workDir, labels...)
}

// StartAgentAt is StartAgent for the server at servers: a URL, or several
// replicas' separated by commas (as `lathe agent --server`).
func StartAgentAt(tb testing.TB, servers, regToken, name, workDir string, labels ...string) *RemoteAgent {
	tb.Helper()
	if workDir == "" {
		workDir = tb.TempDir()
	}
	log := slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cred, err := agent.Credential(ctx, workDir, agent.Registration{Server: servers, Token: regToken, Name: name, Labels: labels, Host: agent.Host()}, log)
	cancel()
	if err != nil {
		tb.Fatalf("register agent %s: %v", name, err)
	}
	ex, err := executor.New(Executor(tb, executor.Options{Hide: []string{workDir}, Grace: 2 * time.Second}))
	if err != nil {
		tb.Fatalf("agent %s: %v", name, err)
	}
	c, err := client.NewServers(context.Background(), []string{servers}, cred, nil)
	if err != nil {
		tb.Fatalf("agent %s: %v", name, err)
	}
	h := agent.Host()
	h.Isolation = ex.Isolation()
	agent.SendHostInfo(c, h)
	a := &agent.Agent{Client: c, Name: name, WorkDir: workDir, Log: log, Heartbeat: 300 * time.Millisecond, Grace: 2 * time.Second, PollWait: 5, Executor: ex}
	runCtx, stopRun := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(runCtx); err != nil {
			tb.Logf("agent %s stopped: %v", name, err)
		}
	}()
	var once sync.Once
	r := &RemoteAgent{Name: name, WorkDir: workDir, Token: cred, stop: func() {
		once.Do(func() {
			stopRun()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				tb.Errorf("agent %s did not stop within 30s", name)
			}
		})
	}}
	tb.Cleanup(r.Stop)
	return r
}

// Binary builds the lathe command into a temp dir of the test and returns
// its path. It is built as the README builds it: static (CGO_ENABLED=0).
func Binary(tb testing.TB) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "lathe")
	cmd := exec.Command("go", "build", "-o", out, "github.com/lathe-ci/lathe/cmd/lathe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build lathe: %v\n%s", err, b)
	}
	return out
}

// Process is a lathe process started by a test.
type Process struct {
	Cmd    *exec.Cmd
	Output *SyncBuffer
	done   chan struct{}
	err    error
}

// StartProcess starts bin with args in its own process group; the test's
// cleanup kills the group if it is still running.
func StartProcess(tb testing.TB, bin string, args ...string) *Process {
	tb.Helper()
	p := &Process{Output: &SyncBuffer{}, done: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Output, p.Output
	p.Cmd.Env = append(os.Environ(), "LATHE_TOKEN=", "LATHE_REGISTRATION_TOKEN=")
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.Cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		tb.Logf("killed %s; its output:\n%s", bin, p.Output.String())
	})
	return p
}

// Signal sends sig to the process (not its group).
func (p *Process) Signal(tb testing.TB, sig syscall.Signal) {
	tb.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("signal %v: %v", sig, err)
	}
}

// Wait waits at most timeout for the process to exit and returns its exit
// code; it fails the test if the process is still running.
func (p *Process) Wait(tb testing.TB, timeout time.Duration) int {
	tb.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		tb.Fatalf("process did not exit within %v; output:\n%s", timeout, p.Output.String())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		tb.Fatalf("wait: %v", p.err)
	}
	return 0
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// SyncBuffer is a bytes.Buffer safe for a process's output and a test reading it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
