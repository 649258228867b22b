package executor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lathe-ci/lathe/internal/childwait"
)

// runnerScript is the step runner, the sandbox's one long-lived process,
// written to start nothing but the step itself (this machine spends about
// 2 ms on each process started). $1 is the control directory. The agent
// writes "N LINES OUT" on fd 3, then the step's script in LINES lines; the
// runner runs the script with /bin/sh -e -c and answers "N CODE" on fd 4.
// OUT "log" sends the step's output straight into the job's log (fd 5);
// "pipe" too, through an open file of the step's own on the log's pipe
// (see output.go); "fifo" into the FIFO $1/N.out, which the executor
// copies to the step's Output. Steps get none of the runner's descriptors.
// SIGTERM to the runner is passed on to every other process in the
// sandbox (kill -1 spares the runner and the sandbox's init): a canceled
// step ends the job. The runner ends when fd 3 closes.
const runnerScript = `ctl=$1
pid=
trap 'if [ -n "$pid" ]; then kill -TERM -1 2>/dev/null; fi' TERM
echo ready >&4
while read -r n lines out <&3; do
	script=
	while [ "$lines" -gt 0 ]; do
		IFS= read -r line <&3
		script="$script$line
"
		lines=$((lines - 1))
	done
	if [ "$out" = log ]; then
		/bin/sh -e -c "$script" </dev/null >&5 2>&5 3<&- 4>&- 5>&- &
	elif [ "$out" = pipe ]; then
		/bin/sh -e -c "$script" </dev/null >>/proc/self/fd/5 2>&1 3<&- 4>&- 5>&- &
	else
		/bin/sh -e -c "$script" </dev/null >"$ctl/$n.out" 2>&1 3<&- 4>&- 5>&- &
	fi
	pid=$!
	while :; do wait "$pid"; code=$?; kill -0 "$pid" 2>/dev/null || break; done
	pid=
	echo "$n $code" >&4
done
`

// stepDrainWait bounds how long the end of a step waits for its output to
// drain: longer only when a process the step left in the background still
// holds the output open, and its later output then lands after the step's end.
const stepDrainWait = time.Second

// sandboxJob is one job's running sandbox.
type sandboxJob struct {
	s        *Sandbox
	spec     Spec
	cmd      *exec.Cmd
	init     int           // the sandbox's init (PID 1 inside), as bwrap's --info-fd names it
	initProc *watched      // init, held from when bwrap names it until Close
	initGone bool          // Close saw init end
	stderr   *lockedBuffer // bwrap's and the runner's own messages
	commands *os.File      // fd 3 of the runner
	steps    int           // steps run so far
	status   *bufio.Reader // fd 4 of the runner
	exited   chan struct{} // closed once bwrap has exited
	fifos    []string      // the steps' output FIFOs
	logPipe  bool          // the job's log is a pipe (see output.go)
	copiers  sync.WaitGroup

	closeOnce sync.Once
}

func startSandboxJob(ctx context.Context, s *Sandbox, spec Spec) (*sandboxJob, error) {
	for _, dir := range []string{spec.Workspace, spec.Home} {
		if err := s.own(dir); err != nil {
			return nil, fmt.Errorf("sandbox: give the job user %s: %w", dir, err)
		}
	}
	// fd 5 is the job's log, for steps that write straight into it.
	log, logPipe := spec.Log, false
	if log == nil {
		var err error
		if log, err = os.Open(os.DevNull); err != nil {
			return nil, err
		}
		defer log.Close()
	} else if logPipe = isPipe(log); logPipe && s.User != nil {
		if err := ownPipe(log, s.User.Uid, s.User.Gid); err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	stepsR, stepsW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		stepsR.Close()
		stepsW.Close()
		return nil, err
	}
	infoR, infoW, err := os.Pipe()
	if err != nil {
		stepsR.Close()
		stepsW.Close()
		statusR.Close()
		statusW.Close()
		return nil, err
	}
	defer infoR.Close()
	j := &sandboxJob{s: s, spec: spec, stderr: &lockedBuffer{}, commands: stepsW,
		status: bufio.NewReader(statusR), exited: make(chan struct{}), logPipe: logPipe}
	j.cmd = exec.Command(s.Bwrap, s.args(spec)...)
	j.cmd.Env = spec.Env
	j.cmd.Stderr = j.stderr
	childwait.NullStreams(j.cmd) // stdin and stdout: no pipe and copying goroutine for output no one reads
	j.cmd.ExtraFiles = []*os.File{stepsR, statusW, log, infoW}
	// bwrap dies with the thread that started it and takes the sandbox along.
	j.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = j.cmd.Start()
	stepsR.Close()
	statusW.Close()
	infoW.Close()
	if err != nil {
		stepsW.Close()
		statusR.Close()
		return nil, fmt.Errorf("sandbox: start bwrap: %w", err)
	}
	go func() {
		childwait.Wait(j.cmd)
		statusR.Close() // wakes a reader if the runner's end did not
		close(j.exited)
	}()
	// The workspace is bound into the sandbox as a directory, so what Fill
	// writes into it from now on is there for the steps.
	filled := make(chan error, 1)
	if spec.Fill != nil {
		go func() { filled <- spec.Fill() }()
	} else {
		filled <- nil
	}
	type started struct {
		init int
		err  error
	}
	ready := make(chan started, 1)
	go func() {
		// bwrap names the sandbox's init once it has made the namespaces;
		// the runner then says it is ready.
		var info struct {
			Init int `json:"child-pid"`
		}
		if err := json.NewDecoder(infoR).Decode(&info); err != nil || info.Init <= 0 {
			ready <- started{err: fmt.Errorf("bwrap gave no sandbox PID: %v", err)}
			return
		}
		line, err := j.status.ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("unexpected %q", line)
		}
		ready <- started{info.Init, err}
	}()
	select {
	case st := <-ready:
		j.init, err = st.init, st.err
		if st.init > 0 {
			j.initProc = watch(st.init)
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	// Fill ends before Start does, whatever happened, since the caller
	// deletes the workspace when Start fails.
	if ferr := <-filled; ferr != nil {
		j.Close()
		return nil, fmt.Errorf("fill the workspace: %w", ferr)
	}
	if err == nil && spec.Fill != nil {
		if err = s.own(spec.Workspace); err != nil {
			j.Close()
			return nil, fmt.Errorf("sandbox: give the job user %s: %w", spec.Workspace, err)
		}
	}
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("sandbox: %s", j.failure(err))
	}
	return j, nil
}

// failure describes why the sandbox stopped answering: bwrap's own words
// when it said any (it says them as it exits).
func (j *sandboxJob) failure(err error) string {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-j.exited:
	case <-t.C:
	}
	if msg := strings.TrimSpace(j.stderr.String()); msg != "" {
		return msg
	}
	return err.Error()
}

// Run runs one step inside the sandbox.
func (j *sandboxJob) Run(ctx context.Context, st Step) (int, error) {
	j.steps++
	n := strconv.Itoa(j.steps)
	out, drained := "log", (<-chan struct{})(closedChan)
	if j.logPipe {
		out = "pipe"
	}
	if st.Output != j.spec.Log {
		fifo := filepath.Join(j.spec.Control, n+".out")
		var err error
		if drained, err = j.fifoOutput(fifo, st.Output); err != nil {
			return -1, err
		}
		out = "fifo"
		defer unblockFIFO(fifo) // a copier the step never reached ends
	}
	if _, err := io.WriteString(j.commands, runnerCommand(n, out, st.Script)); err != nil {
		return -1, fmt.Errorf("sandbox: %s", j.failure(err))
	}
	answer := make(chan error, 1)
	var code int
	go func() {
		line, err := j.status.ReadString('\n')
		if err == nil {
			got, c, ok := strings.Cut(strings.TrimSpace(line), " ")
			code, err = strconv.Atoi(c)
			if !ok || got != n {
				err = fmt.Errorf("the step runner answered %q for step %s", line, n)
			}
		}
		answer <- err
	}()
	select {
	case err := <-answer:
		if err != nil {
			return -1, fmt.Errorf("sandbox: %s", j.failure(err))
		}
	case <-ctx.Done():
		j.stop(answer)
		return -1, ctx.Err()
	}
	t := time.NewTimer(stepDrainWait)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
	}
	return code, nil
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// runnerCommand is what the step runner reads for step n: its number,
// line count and output, then the script, which ends in a newline.
func runnerCommand(n, out, script string) string {
	if !strings.HasSuffix(script, "\n") {
		script += "\n"
	}
	return n + " " + strconv.Itoa(strings.Count(script, "\n")) + " " + out + "\n" + script
}

// fifoOutput makes the step's output FIFO and starts copying it to out.
func (j *sandboxJob) fifoOutput(fifo string, out *os.File) (<-chan struct{}, error) {
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return nil, fmt.Errorf("step output: %w", err)
	}
	j.fifos = append(j.fifos, fifo)
	if err := j.s.own(fifo); err != nil {
		return nil, fmt.Errorf("step output: %w", err)
	}
	return copyFIFO(&j.copiers, fifo, out)
}

// stop passes SIGTERM to the running step's process group (through the
// runner), waits for the step to end or the grace period to pass, then
// kills the whole sandbox.
func (j *sandboxJob) stop(answer <-chan error) {
	if runner := j.runnerPID(); runner > 0 {
		syscall.Kill(runner, syscall.SIGTERM)
		t := time.NewTimer(j.grace())
		select {
		case <-answer:
		case <-j.exited:
		case <-t.C:
		}
		t.Stop()
	}
	j.kill()
}

func (j *sandboxJob) grace() time.Duration {
	if j.s.Grace > 0 {
		return j.s.Grace
	}
	return 10 * time.Second
}

// runnerPID finds the step runner: the only child of the sandbox's init.
func (j *sandboxJob) runnerPID() int {
	if j.init <= 0 {
		return 0
	}
	return childOf(j.init)
}

// kill ends the sandbox and everything in it, and returns once nothing of
// it runs (or 5 s have passed), reporting whether it saw that: bwrap gone
// and the sandbox's init too (false when bwrap never named it). Killing
// the sandbox's init ends its PID namespace: the kernel kills every process
// in it before the init is gone. bwrap's own death would take the init
// along too (die-with-parent), but only after bwrap has exited.
func (j *sandboxJob) kill() bool {
	syscall.Kill(-j.cmd.Process.Pid, syscall.SIGKILL)
	if j.initProc != nil {
		j.initProc.kill()
	}
	deadline := time.Now().Add(5 * time.Second)
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-j.exited:
	case <-t.C:
		return false
	}
	return j.initProc != nil && j.initProc.waitGone(time.Until(deadline))
}

// Ended reports whether nothing of the job runs any more: bwrap has exited
// and the sandbox's init is gone, and with it the sandbox's PID namespace,
// so no process holds what the job was given (its log file). It is true
// after a Close that saw both go.
func (j *sandboxJob) Ended() bool {
	select {
	case <-j.exited:
	default:
		return false
	}
	return j.initGone
}

// Own gives the job user what the agent wrote at path.
func (j *sandboxJob) Own(path string) error { return j.s.own(path) }

// Close ends the runner and every process left in the sandbox, and waits
// (bounded) for the last output to reach the log.
func (j *sandboxJob) Close() {
	j.closeOnce.Do(func() {
		j.commands.Close()
		j.initGone = j.kill()
		if j.initProc != nil {
			j.initProc.release()
		}
		for _, f := range j.fifos {
			unblockFIFO(f)
		}
		done := make(chan struct{})
		go func() { j.copiers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		// The FIFOs go before the job is reported ended: nothing that
		// reads the agent's files later may block on one.
		for _, f := range j.fifos {
			os.Remove(f)
		}
	})
}

// lockedBuffer is a bytes.Buffer safe for exec's copying goroutine and readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil // bwrap says little; a runaway runner must not fill memory
	}
	return l.b.Write(p)
}
