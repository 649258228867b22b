package agent_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/agent"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/server"
)

// partitionPipeline's job beats (a line into a file of its workspace every
// 100 ms) for as long as its first attempt runs; its retry ends at once.
const partitionPipeline = `
jobs:
  deploy:
    runs-on: [partition]
    steps:
      - if [ "$LATHE_ATTEMPT" = 1 ]; then while :; do echo beat >> beat; sleep 0.1; done; fi; echo "attempt $LATHE_ATTEMPT done"
`

// An agent cut off from its server (every packet dropped, connections left
// open) stops its attempt's steps before the server can judge the lease
// lost and run the job again: the step's heartbeat file stops growing
// within the lease TTL of the cut. Once the network is back, the agent's
// hand-back is refused (the server fenced the lost attempt) and the job
// runs to success in its second attempt.
func TestAgentCutOffFromTheServerStopsTheStepsBeforeTheLeaseEnds(t *testing.T) {
	const ttl, sweep = 4 * time.Second, 200 * time.Millisecond
	l := lathetest.StartConfig(t, server.Config{Log: testLog(t), LeaseTTL: ttl, SweepInterval: sweep, InfraRetries: 1})
	l.Project(t, "partition", lathetest.Repo(t, map[string]string{".lathe.yml": partitionPipeline}))
	proxy := newBlackhole(t, strings.TrimPrefix(l.URL, "http://"))
	workDir := t.TempDir()
	runAgent(t, proxy.URL(), l.RegistrationToken(t), workDir)

	run := l.Trigger(t, "partition", "", "")
	jobID := run.Jobs[0].ID
	// The beats go on in the workspace, which the agent deletes once the
	// attempt ends: a link keeps them.
	seen := filepath.Join(workDir, "beats")
	waitFor(t, 60*time.Second, "the step beating", func() bool {
		if files, _ := filepath.Glob(filepath.Join(workDir, "ws", "*", "beat")); len(files) == 1 && size(seen) == 0 {
			os.Link(files[0], seen)
		}
		return size(seen) > 0
	})
	proxy.Cut()
	cut := time.Now()
	grew, last := cut, size(seen)
	for time.Since(cut) < ttl+3*time.Second {
		time.Sleep(100 * time.Millisecond)
		if n := size(seen); n != last {
			grew, last = time.Now(), n
		}
	}
	if grew.Sub(cut) >= ttl {
		t.Fatalf("the step beat on %v after the agent was cut off (lease TTL %v)", grew.Sub(cut).Round(time.Millisecond), ttl)
	}
	t.Logf("the step stopped beating %v after the cut (lease TTL %v)", grew.Sub(cut).Round(time.Millisecond), ttl)
	waitFor(t, 10*time.Second, "attempt 1 lost", func() bool {
		a := l.Job(t, jobID).Attempts
		return len(a) > 0 && a[0].Status == lathe.StatusLost
	})

	proxy.Heal()
	done := l.Wait(t, run.ID, 60*time.Second)
	j := l.Job(t, jobID)
	if done.Status != lathe.StatusSuccess || len(j.Attempts) != 2 || j.Attempts[1].Status != lathe.StatusSuccess {
		t.Fatalf("after the network came back: run %s, job %s with %d attempts; want success in attempt 2", done.Status, j.Status, len(j.Attempts))
	}
	if log := l.Log(t, jobID); !strings.Contains(log, "attempt 2 done\n") {
		t.Errorf("log of attempt 2: %q", log)
	}
}

// An agent that hears its server answer "database unreachable" (503) knows
// the server records no loss meanwhile, and renews every lease once its
// database is back: a database outage longer than the lease TTL stops no
// job, which ends success in its first attempt.
func TestAgentKeepsItsJobThroughADatabaseOutageLongerThanTheLease(t *testing.T) {
	const ttl = 4 * time.Second
	cluster := pgtest.Start(t)
	l := lathetest.StartConfig(t, server.Config{Log: testLog(t), DatabaseURL: cluster.NewDatabase(t), LeaseTTL: ttl, SweepInterval: 100 * time.Millisecond, InfraRetries: -1})
	l.Project(t, "outage", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  slow:
    runs-on: [partition]
    steps:
      - echo started; i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; echo "attempt $LATHE_ATTEMPT done"
`}))
	runAgent(t, l.URL, l.RegistrationToken(t), t.TempDir())
	run := l.Trigger(t, "outage", "", "")
	jobID := run.Jobs[0].ID
	waitFor(t, 60*time.Second, "the step running", func() bool { return strings.Contains(l.Log(t, jobID), "started\n") })
	if err := cluster.Pause(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl + time.Second)
	if err := cluster.Resume(); err != nil {
		t.Fatal(err)
	}
	done := l.Wait(t, run.ID, 60*time.Second)
	j := l.Job(t, jobID)
	if done.Status != lathe.StatusSuccess || len(j.Attempts) != 1 {
		t.Fatalf("after the outage: run %s, job %s with %d attempts; want success in attempt 1\n%s", done.Status, j.Status, len(j.Attempts), l.Log(t, jobID))
	}
}

// runAgent registers an agent with label partition at serverURL and runs
// it until the test ends. It is not told the lease TTL: the server says it
// with each job.
func runAgent(t *testing.T, serverURL, regToken, workDir string) {
	t.Helper()
	startAgent(t, serverURL, regToken, workDir, "cut-off", []string{"partition"}, nil)
}

// startAgent registers an agent called name with labels at serverURL, and
// runs it, tuned by tune (when set), until the test ends.
func startAgent(t *testing.T, serverURL, regToken, workDir, name string, labels []string, tune func(*agent.Agent)) {
	t.Helper()
	log := testLog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cred, err := agent.Credential(ctx, workDir, agent.Registration{Server: serverURL, Token: regToken, Name: name,
		Labels: labels, Host: agent.Host()}, log)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	ex, err := executor.New(lathetest.Executor(t, executor.Options{Hide: []string{workDir}, Grace: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewServers(context.Background(), []string{serverURL}, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &agent.Agent{Client: c, Name: name, WorkDir: workDir, Log: log, Heartbeat: 300 * time.Millisecond,
		Grace: time.Second, PollWait: 1, Executor: ex}
	if tune != nil {
		tune(a)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(runCtx)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("the agent did not stop within 30s")
		}
	})
}

// testLog is a logger of warnings into the test's log when verbose.
func testLog(t *testing.T) *slog.Logger {
	var w io.Writer = io.Discard
	if testing.Verbose() {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// blackhole is a TCP proxy that can drop everything, as a network partition
// does: connections stay open, and nothing arrives either way.
type blackhole struct {
	ln     net.Listener
	target string
	cut    atomic.Bool

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, target: target}
	b.wg.Add(1)
	go b.accept()
	t.Cleanup(b.close)
	return b
}

// URL is the proxy's base URL.
func (b *blackhole) URL() string { return "http://" + b.ln.Addr().String() }

// Cut drops every byte from now on, on open and new connections alike.
func (b *blackhole) Cut() { b.cut.Store(true) }

// Heal passes bytes again; the connections the partition broke are closed.
func (b *blackhole) Heal() {
	b.cut.Store(false)
	b.closeConns()
}

func (b *blackhole) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.track(c)
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			if b.cut.Load() {
				io.Copy(io.Discard, c) // a SYN went through: nothing else will
				return
			}
			up, err := net.Dial("tcp", b.target)
			if err != nil {
				c.Close()
				return
			}
			b.track(up)
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				b.pass(c, up)
			}()
			b.pass(up, c)
		}()
	}
}

// pass copies from src to dst until either fails, dropping what it reads
// while the network is cut.
func (b *blackhole) pass(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !b.cut.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

func (b *blackhole) track(c net.Conn) {
	b.mu.Lock()
	b.conns = append(b.conns, c)
	b.mu.Unlock()
}

func (b *blackhole) closeConns() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}

func (b *blackhole) close() {
	b.ln.Close()
	b.closeConns()
	b.wg.Wait()
}

// size is the size of the file at path (0 when it cannot be read).
func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// waitFor polls cond every 50 ms for at most timeout and fails the test
// with what if it never holds.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
