package executor_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// sandboxJob starts a sandboxed job whose workspace, home and control
// directories are in a fresh directory; hidden is a directory beside them
// the job must not see. With direct, steps writing to log write into it
// straight (the job's Spec.Log); otherwise through their FIFOs.
func sandboxJob(t *testing.T, grace time.Duration, direct bool) (job executor.Job, ws, hidden string, log *os.File) {
	return sandboxJobWith(t, executor.Options{Grace: grace}, direct)
}

// sandboxJobWith is sandboxJob with opts (Hide is set to the hidden directory).
func sandboxJobWith(t *testing.T, opts executor.Options, direct bool) (job executor.Job, ws, hidden string, log *os.File) {
	t.Helper()
	if _, err := executor.FindBwrap(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	root := t.TempDir()
	os.Chmod(root, 0o755)
	ws, hidden = filepath.Join(root, "ws"), filepath.Join(root, "secret-dir")
	home, ctl := filepath.Join(root, "home"), filepath.Join(root, "ctl")
	for _, d := range []string{ws, hidden, home, ctl} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(hidden, "key"), []byte("hidden-bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts.Hide = []string{hidden}
	ex, err := executor.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	log, err = os.OpenFile(filepath.Join(root, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	spec := executor.Spec{Workspace: ws, Home: home, Control: ctl, Env: append(executor.BaseEnv(home, nil), "GREETING=hi there")}
	if direct {
		spec.Log = log
	}
	job, err = ex.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(job.Close)
	return job, ws, hidden, log
}

func run(t *testing.T, job executor.Job, log *os.File, script string) (int, string) {
	t.Helper()
	before, _ := os.ReadFile(log.Name())
	code, err := job.Run(context.Background(), executor.Step{Script: script, Output: log})
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	after, _ := os.ReadFile(log.Name())
	return code, string(after[len(before):])
}

// Steps of one job run in order in one sandbox: they share the workspace
// and /tmp, see only their own environment, and report exit codes.
func TestSandboxRunsAJobsStepsInOrder(t *testing.T) {
	for _, direct := range []bool{true, false} {
		t.Run(map[bool]string{true: "into the log", false: "through a FIFO"}[direct], func(t *testing.T) {
			stepsRunInOrder(t, direct)
		})
	}
}

func stepsRunInOrder(t *testing.T, direct bool) {
	job, ws, _, log := sandboxJob(t, 0, direct)
	if code, out := run(t, job, log, `echo "$GREETING"; pwd; echo made > file; echo t > /tmp/shared`); code != 0 || out != "hi there\n"+ws+"\n" {
		t.Fatalf("step 1 = %d %q", code, out)
	}
	if code, out := run(t, job, log, `cat file /tmp/shared; exit 3`); code != 3 || out != "made\nt\n" {
		t.Fatalf("step 2 = %d %q; want 3 \"made\\nt\\n\"", code, out)
	}
	if code, out := run(t, job, log, `false; echo not reached`); code != 1 || out != "" {
		t.Fatalf("sh -e: step 3 = %d %q", code, out)
	}
	if b, err := os.ReadFile(filepath.Join(ws, "file")); err != nil || string(b) != "made\n" {
		t.Fatalf("the workspace on the host holds %q, %v", b, err)
	}
	// A script reaches the shell byte for byte: backslashes, leading
	// blanks, quotes spanning lines, an empty line, no final newline.
	script := "printf '%s\\n' 'a\\b' \\\n  \"c d\"\n\n  x='multi\nline'; echo \"$x\"; echo $0"
	if code, out := run(t, job, log, script); code != 0 || out != "a\\b\nc d\nmulti\nline\n/bin/sh\n" {
		t.Fatalf("multi-line step = %d %q", code, out)
	}
	code, out := run(t, job, log, `env | cut -d= -f1 | sort | tr '\n' ' '`)
	if code != 0 || out != "GREETING HOME LANG PATH PWD " {
		t.Fatalf("the step's environment has %q; want only what the job was given", out)
	}
}

// A step cannot see hidden paths, cannot write outside its workspace and
// home, cannot see the agent's processes, and runs without privileges.
func TestSandboxKeepsAStepInItsPlace(t *testing.T) {
	job, _, hidden, log := sandboxJob(t, 0, true)
	if code, out := run(t, job, log, `cat `+hidden+`/key`); code == 0 || strings.Contains(out, "hidden-bytes") {
		t.Errorf("the hidden file was readable: %d %q", code, out)
	}
	if code, _ := run(t, job, log, `ls -A `+hidden+` | wc -l | grep -qx 0`); code != 0 {
		t.Errorf("the hidden directory is not empty in the sandbox")
	}
	// The step runner's own descriptors (its commands, its answers, the
	// log) and bwrap's info descriptor are not the step's.
	for _, fd := range []string{"3", "4", "5", "6"} {
		if code, out := run(t, job, log, `if (: >&`+fd+`) 2>/dev/null; then echo has fd `+fd+`; fi`); code != 0 || out != "" {
			t.Errorf("fd %s: %d %q; want the step not to have it", fd, code, out)
		}
	}
	outside := filepath.Join(filepath.Dir(hidden), "escaped")
	if code, _ := run(t, job, log, `echo x > `+outside); code == 0 {
		t.Errorf("a step wrote outside its workspace")
	}
	if _, err := os.Stat(outside); err == nil {
		t.Errorf("%s exists on the host", outside)
	}
	if code, out := run(t, job, log, `cat /proc/`+strconv.Itoa(os.Getpid())+`/environ`); code == 0 {
		t.Errorf("the agent's environment was readable: %q", out)
	}
	if code, out := run(t, job, log, `ls /proc | grep -c '^[0-9]'`); code != 0 || mustAtoi(t, out) > 6 {
		t.Errorf("the step sees %s processes; want only the sandbox's own", strings.TrimSpace(out))
	}
	if os.Geteuid() == 0 {
		if code, out := run(t, job, log, `id -u; grep CapEff /proc/self/status`); code != 0 || out != "65534\nCapEff:\t0000000000000000\n" {
			t.Errorf("as root, steps run as %q; want nobody without capabilities", out)
		}
		if code, _ := run(t, job, log, `cat /etc/shadow`); code == 0 {
			t.Errorf("the step read /etc/shadow")
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

// A canceled step gets SIGTERM (its trap runs), and once Run returns
// nothing of it is left; Close ends processes steps left running.
func TestSandboxCancelStopsTheStep(t *testing.T) {
	job, ws, _, log := sandboxJob(t, 20*time.Second, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if b, err := os.ReadFile(filepath.Join(ws, "started")); err == nil && len(b) > 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	code, err := job.Run(ctx, executor.Step{Script: `trap 'echo got TERM; exit 9' TERM; sleep 300.17 & echo $! > started; wait`, Output: log})
	if !errors.Is(err, context.Canceled) || code != -1 {
		t.Fatalf("Run = %d, %v; want -1 and the context's error", code, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v; the step exits on SIGTERM and the grace period is 20s", d)
	}
	b, _ := os.ReadFile(log.Name())
	if !strings.Contains(string(b), "got TERM") {
		t.Errorf("the step's trap did not run: log %q", b)
	}
	if n := len(lathetest.Processes("sleep", "300.17")); n != 0 {
		t.Errorf("%d sleep processes are left", n)
	}
}

func TestSandboxCloseEndsBackgroundProcesses(t *testing.T) {
	job, _, _, log := sandboxJob(t, 0, false)
	if code, _ := run(t, job, log, `setsid sleep 301.17 >/dev/null 2>&1 & echo started`); code != 0 {
		t.Fatal("step failed")
	}
	for i := 0; len(lathetest.Processes("sleep", "301.17")) != 1; i++ {
		if i == 500 {
			t.Fatalf("%d background sleeps running; want 1", len(lathetest.Processes("sleep", "301.17")))
		}
		time.Sleep(10 * time.Millisecond)
	}
	ended := job.(interface{ Ended() bool })
	if ended.Ended() {
		t.Error("Ended before Close, with a background process running")
	}
	job.Close()
	if n := len(lathetest.Processes("sleep", "301.17")); n != 0 {
		t.Errorf("%d background sleeps survived Close", n)
	}
	if !ended.Ended() {
		t.Error("not Ended after Close")
	}
}

// Giving the job user what the agent wrote never leaves the workspace,
// whatever links a step put there: a link to a file or a directory outside
// is changed itself (or refused), never what it points to.
func TestOwnStaysInTheWorkspace(t *testing.T) {
	job, ws, hidden, log := sandboxJob(t, 0, true)
	if os.Geteuid() != 0 {
		t.Skip("ownership changes only when the agent runs as root")
	}
	if code, out := run(t, job, log, `ln -s `+hidden+` dirlink; ln -s `+hidden+`/key filelink; mkdir -p sub; ln -s `+hidden+` sub/deeper`); code != 0 {
		t.Fatalf("step: %d %s", code, out)
	}
	if err := job.Own(ws); err != nil {
		t.Logf("Own: %v", err)
	}
	for _, p := range []string{hidden, filepath.Join(hidden, "key")} {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 0 {
			t.Errorf("%s is owned by %d after Own; want root still", p, st.Uid)
		}
	}
}

// The job's network is the host's by default; with network "none" a step
// cannot reach even a server on the host's loopback.
func TestSandboxJobNetwork(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	for _, network := range []string{"shared", "none"} {
		hits.Store(0)
		job, _, _, log := sandboxJobWith(t, executor.Options{Network: network}, true)
		run(t, job, log, "git ls-remote "+srv.URL+"/repo || true")
		if got, want := hits.Load() > 0, network == "shared"; got != want {
			t.Errorf("network %s: the step reached the host's server: %v; want %v", network, got, want)
		}
	}
}
