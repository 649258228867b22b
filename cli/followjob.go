package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/retry"
)

// followJob follows one job's log to out, a "[job] " prefix on each
// line: every attempt in turn from the first (or only attempt q.attempt),
// saying before each retry why the attempt before it ended, as `lathe
// exec` does, until the job is final or feed closes. Each attempt's log
// is its own stream: the server's stream follows one attempt, the way the
// web UI's job page shows one.
func followJob(ctx context.Context, c *client.Client, j *lathe.Job, feed *jobFeed, out *lockedWriter, q logQuery) {
	pw := &prefixWriter{prefix: "[" + j.Name + "] ", out: out}
	defer pw.Flush()
	for n := max(q.attempt, 1); ; n++ {
		aq := q
		aq.attempt = n
		followAttemptLog(ctx, c, j.ID, pw, aq)
		if q.attempt > 0 {
			return
		}
		// The attempt's end leaves its job final, or queued for another.
		j = feed.await(ctx, func(j *lathe.Job) bool { return j.Attempt > n || j.Status != lathe.StatusRunning })
		if j == nil || j.Attempt == n && j.Status.Terminal() {
			return
		}
		pw.Flush()
		fmt.Fprintf(pw, "↻ %s\n", retryNotice(ctx, c, j.ID, n))
		// Canceled while queued, the job ends without another attempt.
		j = feed.await(ctx, func(j *lathe.Job) bool { return j.Attempt > n || j.Status.Terminal() })
		if j == nil || j.Attempt == n {
			return
		}
	}
}

// followAttemptLog streams one attempt's log (q.attempt; or the part q
// asks for) to pw, resuming by Last-Event-ID if the connection drops. An
// attempt that ended without the step prints nothing.
func followAttemptLog(ctx context.Context, c *client.Client, jobID int64, pw *prefixWriter, q logQuery) {
	lastID := ""
	backoff := retry.Backoff{Base: 100 * time.Millisecond, Cap: 2 * time.Second}
	for tries := 0; tries < 20 && ctx.Err() == nil; tries++ {
		ended := false
		err := c.Stream(ctx, fmt.Sprintf("/api/v1/jobs/%d/log/stream%s", jobID, q), lastID, func(ev client.Event) error {
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

// retryNotice says why attempt n of a job ended and which attempt comes
// next: "exit status 1 in step 1/2: attempt 2 of 3".
func retryNotice(ctx context.Context, c *client.Client, jobID int64, n int) string {
	next := fmt.Sprintf("attempt %d", n+1)
	var j lathe.Job
	if err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d", jobID), nil, &j); err != nil {
		return "attempt ended: " + next
	}
	why, counted := "attempt ended", j.Retry != nil
	for _, a := range j.Attempts {
		if a.Number == n {
			why = attemptEnd(&j, a)
		}
		// Lost and handed-back attempts do not use up the job's retries,
		// so "of N" would miscount.
		if a.Number <= n && a.Status != lathe.StatusFailed && a.Status != lathe.StatusTimedOut {
			counted = false
		}
	}
	if counted {
		next += fmt.Sprintf(" of %d", j.Retry.Count+1)
	}
	return field(why) + ": " + next
}

// attemptEnd says why attempt a of job j ended: the server's reason when
// it gives one, else how its first unsuccessful step ended and where.
func attemptEnd(j *lathe.Job, a *lathe.Attempt) string {
	if a.EndReason != "" {
		return a.EndReason
	}
	why := strings.ReplaceAll(string(a.Status), "_", " ")
	if a.Status == lathe.StatusTimedOut && j.TimeoutSec > 0 {
		why = fmt.Sprintf("timed out after %s", time.Duration(j.TimeoutSec)*time.Second)
	}
	for _, s := range a.Steps {
		if s.Status == lathe.StatusSuccess || s.Status == lathe.StatusSkipped || !s.Status.Terminal() {
			continue
		}
		if a.Status == lathe.StatusFailed && s.ExitCode != nil {
			why = fmt.Sprintf("exit status %d", *s.ExitCode)
		}
		return why + " in " + stepPlace(j, s.Index)
	}
	return why
}

// stepPlace names step i of an attempt of j as `lathe exec` does: "step
// 2/3", with the step's name when it has one apart from its command; step
// 0 is the checkout.
func stepPlace(j *lathe.Job, i int) string {
	switch {
	case i == 0:
		return "the checkout"
	case i > len(j.Steps):
		return fmt.Sprintf("step %d", i)
	}
	s := fmt.Sprintf("step %d/%d", i, len(j.Steps))
	if def := j.Steps[i-1]; def.Name != "" && !strings.HasPrefix(def.Run, def.Name) {
		s += ": " + def.Name
	}
	return s
}

// jobFeed hands a job's latest state, as the run's events tell it, to the
// goroutine following the job's log.
type jobFeed struct {
	mu  sync.Mutex
	job *lathe.Job
	// closed says no state will come after job: the run ended.
	closed bool
	// wake is closed when either changes.
	wake chan struct{}
}

func newJobFeed(j *lathe.Job) *jobFeed {
	return &jobFeed{job: j, wake: make(chan struct{})}
}

func (f *jobFeed) set(j *lathe.Job) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.job = j
	close(f.wake)
	f.wake = make(chan struct{})
}

func (f *jobFeed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	close(f.wake)
	f.wake = make(chan struct{})
}

// await returns the job's latest state once ok holds for it; nil when
// the feed closed, or ctx ended, first.
func (f *jobFeed) await(ctx context.Context, ok func(*lathe.Job) bool) *lathe.Job {
	for {
		f.mu.Lock()
		j, closed, wake := f.job, f.closed, f.wake
		f.mu.Unlock()
		if ok(j) {
			return j
		}
		if closed {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil
		}
	}
}
