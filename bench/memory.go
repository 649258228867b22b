package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// (d) Idle server resident memory: the real `lathe` binary, started as the
// quickstart starts it (`lathe up` with two embedded agents), left idle, and
// read from /proc.

// memoryResult is (d).
type memoryResult struct {
	RSSMB   float64 `json:"vm_rss_mb"`
	HWMMB   float64 `json:"vm_hwm_mb"`
	Idle    float64 `json:"idle_s"`
	Command string  `json:"command"`
}

const (
	idleFor      = 2 * time.Second
	readyTimeout = 30 * time.Second
	stopTimeout  = 15 * time.Second
)

var urlLine = regexp.MustCompile(`Lathe is running at (http://127\.0\.0\.1:[0-9]+)`)

func benchMemory(ctx context.Context, b *bench) (*memoryResult, error) {
	bin, err := b.latheBinary(ctx)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(b.tmp, "memory-data")
	args := []string{"up", "--addr", "127.0.0.1:0", "--data", data, "--agents", "2"}
	cmd := exec.Command(bin, args...)
	cmd.Env = withoutLatheEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	urls := make(chan string, 1)
	var reading sync.WaitGroup
	reading.Add(1)
	go func() {
		defer reading.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		reading.Wait() // Wait closes stdout, so read it all first
		exited <- cmd.Wait()
	}()
	res, err := measureIdle(ctx, cmd, urls, exited)
	if stopErr := stopProcess(cmd, exited); err == nil {
		err = stopErr
	}
	if err != nil {
		return nil, fmt.Errorf("%w\nlathe up stderr:\n%s", err, tailString(stderr.String(), 20))
	}
	res.Command = strings.ReplaceAll("lathe "+strings.Join(args, " "), data, "TMP")
	return res, nil
}

// measureIdle waits for the server to be ready, lets it idle, then reads its memory.
func measureIdle(ctx context.Context, cmd *exec.Cmd, urls <-chan string, exited <-chan error) (*memoryResult, error) {
	var url string
	select {
	case url = <-urls:
	case err := <-exited:
		return nil, fmt.Errorf("lathe up exited before printing its URL: %v", err)
	case <-time.After(readyTimeout):
		return nil, errors.New("lathe up did not print its URL")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s/readyz did not answer 200 within %s", url, readyTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-time.After(idleFor):
	case err := <-exited:
		return nil, fmt.Errorf("lathe up exited while idle: %v", err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return nil, err
	}
	return &memoryResult{RSSMB: procKB(status, "VmRSS") / 1024, HWMMB: procKB(status, "VmHWM") / 1024, Idle: idleFor.Seconds()}, nil
}

// stopProcess sends SIGTERM, waits, and kills the process if it lingers.
func stopProcess(cmd *exec.Cmd, exited <-chan error) error {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("lathe up exited with %v after SIGTERM", err)
		}
		return nil
	case <-time.After(stopTimeout):
	}
	cmd.Process.Kill()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
	}
	return fmt.Errorf("lathe up did not stop within %s of SIGTERM; killed", stopTimeout)
}

// procKB reads a "Name:   123 kB" field of /proc/PID/status.
func procKB(status []byte, field string) float64 {
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return n
		}
	}
	return 0
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the lathe module: run the benchmark from the repository")
	}
	return filepath.Dir(gomod), nil
}

// withoutLatheEnv is this process's environment without LATHE_* settings,
// so only the flags configure the server.
func withoutLatheEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LATHE_") {
			env = append(env, kv)
		}
	}
	return env
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tailString returns the last n lines of s.
// errorLines is the last n lines of a server's log at level ERROR.
func errorLines(s string, n int) string {
	var errs []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "level=ERROR") {
			errs = append(errs, l)
		}
	}
	return tailString(strings.Join(errs, "\n"), n)
}

func tailString(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
