package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

const (
	// startAttempts bounds retries when another process takes the port
	// between choosing it and postgres binding it.
	startAttempts = 5
	// readyTimeout bounds the wait for the server to accept connections.
	readyTimeout = 30 * time.Second
	// stopGrace is how long a fast shutdown may take before the process
	// group is killed.
	stopGrace = 10 * time.Second
	// killWait bounds the wait for the process to die after SIGKILL.
	killWait = 5 * time.Second
	// pollInterval is how often the log is checked during startup.
	pollInterval = 20 * time.Millisecond

	readyMessage = "database system is ready to accept connections"
	portInUse    = "Address already in use"
)

// errPortInUse marks a start that failed only because the port was taken.
var errPortInUse = errors.New("port already in use")

// server is one postgres process.
type server struct {
	cmd     *exec.Cmd
	port    int
	logPath string
	exited  chan struct{} // closed once cmd.Wait has returned
	waitErr error         // cmd.Wait's result; read only after exited is closed
}

// launchServer starts postgres on a free port and waits until it accepts
// connections, trying another port if the chosen one was taken meanwhile.
func launchServer(binDir, dir string, cred *syscall.Credential) (*server, error) {
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := startServer(binDir, dir, cred, port)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == startAttempts {
			return nil, fmt.Errorf("start postgres (attempt %d of %d): %w", attempt, startAttempts, err)
		}
	}
}

// startServer runs postgres directly rather than through pg_ctl, so the
// process is our child: Pdeathsig applies to it and Wait tells us when it is
// gone. Durability settings are off because test data is disposable.
func startServer(binDir, dir string, cred *syscall.Credential, port int) (*server, error) {
	s := &server{port: port, logPath: filepath.Join(dir, "postgres.log"), exited: make(chan struct{})}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, fmt.Errorf("create server log: %w", err)
	}
	defer logFile.Close() // the child has its own copy of the descriptor
	s.cmd = command(context.Background(), cred, dir, filepath.Join(binDir, "postgres"),
		"-D", filepath.Join(dir, "data"),
		"-p", strconv.Itoa(port),
		"-k", dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		// The readiness check and port-clash detection read English messages.
		"-c", "lc_messages=C")
	s.cmd.Stdout = logFile
	s.cmd.Stderr = logFile
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run postgres: %w", err)
	}
	// The only goroutine this package starts; it ends when postgres exits,
	// and shutdown makes sure postgres exits.
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(); err != nil {
		s.kill()
		return nil, err
	}
	return s, nil
}

// waitReady waits until the log says the server accepts connections, the
// server exits, or readyTimeout passes.
func (s *server) waitReady() error {
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.exited:
			log := s.readLog()
			if bytes.Contains(log, []byte(portInUse)) {
				return fmt.Errorf("port %d: %w\n%s", s.port, errPortInUse, tail(log))
			}
			return fmt.Errorf("postgres exited during startup: %v\n%s", s.waitErr, tail(log))
		case <-deadline.C:
			return fmt.Errorf("postgres not ready after %s\n%s", readyTimeout, tail(s.readLog()))
		case <-tick.C:
			if bytes.Contains(s.readLog(), []byte(readyMessage)) {
				return nil
			}
		}
	}
}

// shutdown asks for a fast shutdown (SIGINT: roll back open transactions and
// disconnect clients, rather than SIGTERM's wait for them to leave), kills the
// process group if that takes longer than stopGrace, and waits for the
// process to be gone.
func (s *server) shutdown() error {
	select {
	case <-s.exited:
		return fmt.Errorf("postgres had already exited: %v\n%s", s.waitErr, tail(s.readLog()))
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT) // fails only if it just exited
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopGrace):
		return s.kill()
	}
}

// kill kills postgres and everything it forked, and waits for it to exit.
func (s *server) kill() error {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL) // ESRCH if already gone
	select {
	case <-s.exited:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("postgres (pid %d) still running %s after SIGKILL", s.cmd.Process.Pid, killWait)
	}
}

// readLog returns the server log so far; on error, a note in its place.
func (s *server) readLog() []byte {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return []byte(fmt.Sprintf("(cannot read server log: %v)", err))
	}
	return b
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of a log or command output, enough to explain a
// failure without flooding the test output.
func tail(b []byte) string {
	const maxLines, maxBytes = 30, 4096
	b = bytes.TrimRight(b, "\n")
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
	}
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return "--- log tail ---\n" + string(bytes.Join(lines, []byte("\n")))
}
