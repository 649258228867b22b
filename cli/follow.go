package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/retry"
)

// followRun prints the logs of every job of a run live, each line prefixed
// with its job's name, and why each job waits whenever that changes, until
// the run ends; then a summary. A job's log is followed across its
// attempts (see followJob). It returns the run's final status. q says
// which part of each log to follow and how.
func followRun(ctx context.Context, c *client.Client, runID int64, env *Env, q logQuery) (lathe.Status, error) {
	w := env.Stdout
	out := &lockedWriter{w: w}
	// The jobs' followers learn of new attempts from the run's events;
	// when those stop for good without the run ending, so do they.
	fctx, stop := context.WithCancel(ctx)
	var streams sync.WaitGroup
	defer func() { stop(); streams.Wait() }()
	feeds := map[int64]*jobFeed{}
	waits := map[int64]string{}
	var last *lathe.Run
	path := fmt.Sprintf("/api/v1/runs/%d/events", runID)
	lastID := ""
	backoff := retry.Backoff{Base: 200 * time.Millisecond, Cap: 4 * time.Second}
	for tries := 0; ; tries++ {
		err := c.Stream(ctx, path, lastID, func(ev client.Event) error {
			var run lathe.Run
			if err := json.Unmarshal(ev.Data, &run); err != nil {
				return fmt.Errorf("run event: %w", err)
			}
			last = &run
			for _, j := range run.Jobs {
				if why := waitReason(&run, j); why != waits[j.ID] {
					waits[j.ID] = why
					if why != "" {
						fmt.Fprintf(out, "[%s] waiting: %s\n", field(j.Name), why)
					}
				}
				if f := feeds[j.ID]; f != nil {
					f.set(j)
				} else if j.Attempt > 0 && j.Attempt >= q.attempt {
					f := newJobFeed(j)
					feeds[j.ID] = f
					streams.Add(1)
					go func() {
						defer streams.Done()
						followJob(fctx, c, j, f, out, q)
					}()
				}
			}
			return nil
		})
		if last != nil && last.Status.Terminal() {
			break
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if tries >= 20 || client.StatusOf(err) >= 400 && client.StatusOf(err) < 500 {
			return "", fmt.Errorf("follow run %d: %w", runID, err)
		}
		if retry.Sleep(ctx, backoff.Next()) != nil {
			return "", ctx.Err()
		}
	}
	// The run is final, and so is every job in its last event.
	for _, f := range feeds {
		f.close()
	}
	streams.Wait()
	var run lathe.Run
	if err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", runID), nil, &run); err != nil {
		return "", err
	}
	printSummary(w, &run, newPainter(env))
	return run.Status, nil
}

// waitReason says why a job of run is not running yet, or "" when it is
// not waiting: at an approval gate (and who may open it), for the jobs it
// needs, or in the queue for the reason the server gives (no agent with
// its labels, a semaphore held by another run).
func waitReason(run *lathe.Run, j *lathe.Job) string {
	switch j.Status {
	case lathe.StatusWaiting:
		how := fmt.Sprintf("lathe approve %d %s", run.ID, shellQuote(j.Name))
		switch {
		case j.Approval != nil && len(j.Approval.From) > 0:
			s := "approval from " + strings.Join(j.Approval.From, ", ")
			if j.Approval.NotBy != "" {
				s += " (not " + j.Approval.NotBy + ")"
			}
			if j.Approval.Message != "" {
				s += ": " + j.Approval.Message
			}
			return s + " — " + how
		case j.Approval == nil && run.Untrusted:
			return "a user with write access to trust the commit of this untrusted run — " + how
		}
		return "approval by a user with write access — " + how
	case lathe.StatusQueued:
		if j.WaitReason != "" {
			return j.WaitReason
		}
	case lathe.StatusPending:
		var need []string
		for _, d := range j.Deps {
			for _, o := range run.Jobs {
				if o.Name == d && !o.Status.Terminal() {
					need = append(need, d)
				}
			}
		}
		if len(need) > 0 {
			return "the jobs it needs: " + strings.Join(need, ", ")
		}
	}
	return ""
}

// shellQuote quotes s for a shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// followInteractive follows a run as followRun does and returns the exit
// code. Ctrl-C detaches (the run goes on) and says how to follow again; a
// second Ctrl-C within 2 s cancels the run, after asking when stdin is a
// terminal.
func followInteractive(ctx context.Context, c *client.Client, runID int64, env *Env, q logQuery) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	type result struct {
		status lathe.Status
		err    error
	}
	done := make(chan result, 1)
	go func() {
		st, err := followRun(fctx, c, runID, env, q)
		done <- result{st, err}
	}()
	select {
	case r := <-done:
		return exitFor(env, r.status, r.err)
	case <-sigs:
	}
	stop()
	<-done
	again := fmt.Sprintf("lathe logs -f %d%s", runID, q.flags())
	if c.BaseURL != defaultServer {
		again += " --server " + c.BaseURL
	}
	fmt.Fprintf(env.Stderr, "\nDetached: run %d goes on. Follow it again with: %s\n", runID, again)
	fmt.Fprintf(env.Stderr, "(Ctrl-C again within 2s cancels the run.)\n")
	select {
	case <-sigs:
	case <-time.After(2 * time.Second):
		return exitInterrupted
	case <-ctx.Done():
		return exitInterrupted
	}
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(env.Stderr, "Cancel run %d? [y/N] ", runID)
		line, _ := env.stdinLines().ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintf(env.Stderr, "run %d goes on\n", runID)
			return exitInterrupted
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := c.Do(cctx, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", runID), nil, nil); err != nil {
		return fail(env, fmt.Errorf("cancel run %d: %w", runID, err))
	}
	fmt.Fprintf(env.Stderr, "cancel of run %d requested\n", runID)
	return exitInterrupted
}

// printSummary prints a run's stages and jobs with their IDs, statuses
// and durations, why waiting jobs wait, and the problems of a run that
// failed on its pipeline files.
func printSummary(w io.Writer, run *lathe.Run, paint painter) {
	fmt.Fprintf(w, "\nrun %d: %s #%d of %s at %.12s — %s in %s\n", run.ID, field(run.Pipeline), run.Number, run.Project, run.Commit, paint.status(string(run.Status)), duration(run.Timing))
	for _, e := range run.Errors {
		at := field(e.File)
		if e.Line > 0 {
			at += fmt.Sprintf(":%d:%d", e.Line, e.Column)
		}
		f := ""
		if e.Field != "" {
			f = " (" + field(e.Field) + ")"
		}
		fmt.Fprintf(w, "  %s: %s: %s%s\n", at, e.Severity, printable(e.Message, ""), f)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  STAGE\tJOB\tID\t%s\tDURATION\tWAITING FOR\n", paint.header("STATUS"))
	for _, st := range run.Stages {
		for _, j := range run.Jobs {
			if j.StageID == st.ID {
				fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\n", field(st.Name), field(j.Name), j.ID, paint.status(string(j.Status)), duration(j.Timing), printable(waitReason(run, j), ""))
			}
		}
	}
	tw.Flush()
}

// exitFor is the exit code of a followed run: 0 for success, 1 otherwise
// (printing the error that stopped following, if any).
func exitFor(env *Env, status lathe.Status, err error) int {
	if err != nil {
		return fail(env, err)
	}
	if status != lathe.StatusSuccess {
		return 1
	}
	return 0
}

// lockedWriter serialises whole writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter writes complete lines, each with a prefix; Flush writes a
// trailing partial line.
type prefixWriter struct {
	prefix string
	out    io.Writer
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	var batch bytes.Buffer
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		batch.WriteString(p.prefix)
		batch.Write(p.buf[:i+1])
		p.buf = p.buf[i+1:]
	}
	if batch.Len() > 0 {
		p.out.Write(batch.Bytes())
	}
	return len(b), nil
}

func (p *prefixWriter) Flush() {
	if len(p.buf) > 0 {
		p.out.Write([]byte(p.prefix + string(p.buf) + "\n"))
		p.buf = nil
	}
}
