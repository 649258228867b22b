package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"text/tabwriter"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/retry"
)

// followRun prints the logs of every job of a run live, each line prefixed
// with its job's name, until the run ends; then a summary. It returns the
// run's final status.
func followRun(ctx context.Context, c *client.Client, runID int64, w io.Writer) (lathe.Status, error) {
	out := &lockedWriter{w: w}
	var streams sync.WaitGroup
	started := map[int64]bool{}
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
				if j.Attempt > 0 && !started[j.ID] {
					started[j.ID] = true
					streams.Add(1)
					go func() {
						defer streams.Done()
						followJobLog(ctx, c, j, out)
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
	streams.Wait()
	var run lathe.Run
	if err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", runID), nil, &run); err != nil {
		return "", err
	}
	printSummary(w, &run)
	return run.Status, nil
}

// followJobLog streams one job's log to out with a "[job] " prefix on each
// line, resuming by Last-Event-ID if the connection drops.
func followJobLog(ctx context.Context, c *client.Client, j *lathe.Job, out *lockedWriter) {
	pw := &prefixWriter{prefix: "[" + j.Name + "] ", out: out}
	defer pw.Flush()
	lastID := ""
	backoff := retry.Backoff{Base: 100 * time.Millisecond, Cap: 2 * time.Second}
	for tries := 0; tries < 20 && ctx.Err() == nil; tries++ {
		ended := false
		err := c.Stream(ctx, fmt.Sprintf("/api/v1/jobs/%d/log/stream", j.ID), lastID, func(ev client.Event) error {
			lastID = ev.ID
			switch ev.Name {
			case "log":
				var chunk lathe.LogChunk
				if err := json.Unmarshal(ev.Data, &chunk); err != nil {
					return err
				}
				b, err := chunk.Bytes()
				if err != nil {
					return err
				}
				pw.Write(b)
			case "end":
				ended = true
			}
			return nil
		})
		if ended || err != nil && client.StatusOf(err) >= 400 {
			return
		}
		retry.Sleep(ctx, backoff.Next())
	}
}

// printLogs prints the whole log of every job of a run that has one;
// query, when set, goes with each log request (timestamps=true).
func printLogs(ctx context.Context, c *client.Client, runID int64, w io.Writer, query string) error {
	var run lathe.Run
	if err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", runID), nil, &run); err != nil {
		return err
	}
	out := &lockedWriter{w: w}
	for _, j := range run.Jobs {
		if j.Attempt == 0 {
			continue
		}
		resp, err := c.Request(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log%s", j.ID, query), nil, nil)
		if err != nil {
			return err
		}
		pw := &prefixWriter{prefix: "[" + j.Name + "] ", out: out}
		_, err = io.Copy(pw, resp.Body)
		resp.Body.Close()
		pw.Flush()
		if err != nil {
			return err
		}
	}
	return nil
}

// printSummary prints a run's stages and jobs with statuses and durations.
func printSummary(w io.Writer, run *lathe.Run) {
	fmt.Fprintf(w, "\nrun %d: %s #%d of %s at %.12s — %s in %s\n", run.ID, field(run.Pipeline), run.Number, run.Project, run.Commit, run.Status, duration(run.Timing))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  STAGE\tJOB\tSTATUS\tDURATION")
	for _, st := range run.Stages {
		for _, j := range run.Jobs {
			if j.StageID == st.ID {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", field(st.Name), field(j.Name), j.Status, duration(j.Timing))
			}
		}
	}
	tw.Flush()
}

func exitFor(status lathe.Status, err error) int {
	// Errors are printed by the caller through fail; here only the code.
	if err != nil {
		fmt.Fprintf(os.Stderr, "lathe: %v\n", err)
		return 1
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
