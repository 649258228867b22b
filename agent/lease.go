package agent

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/lathe-ci/lathe/client"
)

// The server holds a running attempt for its agent for the lease TTL after
// it last heard from the agent (the claim, then every report), and then
// judges the attempt lost and gives the job to another agent. An agent cut
// off from the server (a network partition, a server it can no longer
// reach) must not run the job on beside that retry: a deploy would run
// twice at once, whatever the job's `concurrency` says. So while the steps
// run, the agent watches when the server last heard from it, and stops the
// steps once that is nearly the lease TTL ago, early enough that even a
// step that ignores SIGTERM is killed before the lease can end. The
// attempt is then handed back: the server, fencing an attempt it judged
// lost, takes nothing more of it, and one whose lease it renewed meanwhile
// (after an outage of its own) runs the job again.
//
// The server says its TTL with each job (Assignment.LeaseTTLSec); an agent
// configured with a shorter one (Agent.LeaseTTL) keeps its own. An agent
// embedded in its server (a negative Agent.LeaseTTL) watches nothing: it
// cannot be cut off from it, and dies with it.

// DefaultLeaseTTL is the server's default lease TTL (lathe server --lease-ttl).
const DefaultLeaseTTL = 60 * time.Second

// defaultGrace is the executors' grace between SIGTERM and SIGKILL when
// none is set.
const defaultGrace = 10 * time.Second

// errLeaseLost is why a job's steps stop when the server has not heard
// from the agent for nearly the lease TTL.
var errLeaseLost = errors.New("this agent could not reach the server for nearly the attempt's lease: " +
	"the server is about to run the job on another agent")

// leaseWatch stops an attempt's steps once the server has not heard from
// the agent for too long (see above).
type leaseWatch struct {
	ttl time.Duration
	// after is how long the agent may go unheard before it stops the steps.
	after time.Duration
	stop  func() // stops the steps

	mu    sync.Mutex
	heard time.Time // when the last request the server answered was sent
}

// newLeaseWatch watches a lease of ttl the server took just before
// claimed (when its answer to the claim came), stopping the steps with
// stop, which gives them grace between SIGTERM and SIGKILL. A ttl of zero
// or less watches nothing (nil, which every method takes).
func newLeaseWatch(ttl, grace time.Duration, claimed time.Time, stop func()) *leaseWatch {
	if ttl <= 0 {
		return nil
	}
	// The steps must be dead before the lease can end: SIGTERM goes a
	// grace period and a margin before it (the margin covers the kill
	// itself and the claim's answer on its way), but never after a
	// silence shorter than half the lease; keep --grace well under the
	// lease TTL.
	margin := min(ttl/10, 5*time.Second)
	return &leaseWatch{ttl: ttl, after: max(ttl-grace-margin, ttl/2), stop: stop, heard: claimed}
}

// Heard records that the server answered a request sent at sent, which
// renewed the lease; nil-safe.
func (w *leaseWatch) Heard(sent time.Time) {
	if w == nil {
		return
	}
	w.mu.Lock()
	if sent.After(w.heard) {
		w.heard = sent
	}
	w.mu.Unlock()
}

// deadline is when the steps stop unless the server hears from the agent.
func (w *leaseWatch) deadline() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.heard.Add(w.after)
}

// heartbeat is how often the attempt reports at the least: every interval
// (Agent.Heartbeat), or more often for a short lease, so the deadline
// (half the lease at the earliest) passes only after several reports in
// a row went unanswered.
func (w *leaseWatch) heartbeat(interval time.Duration) time.Duration {
	if w == nil {
		return interval
	}
	return min(interval, w.ttl/6)
}

// retryCap bounds the wait between two tries of a report, for the same
// reason: 5 s, less for a short lease; nil-safe.
func (w *leaseWatch) retryCap() time.Duration {
	if w == nil {
		return 5 * time.Second
	}
	return min(5*time.Second, w.ttl/12)
}

// answerTimeout bounds waiting for the answer to one report, so that a
// server that stopped answering mid-request leaves time to try again
// (another replica, a new connection) before the lease runs out.
func (w *leaseWatch) answerTimeout() time.Duration {
	if w == nil {
		return reportAnswerTimeout
	}
	return min(reportAnswerTimeout, w.ttl/3)
}

// Run stops the steps once the deadline passes unheard, or returns when
// ctx ends (the steps are over).
func (w *leaseWatch) Run(ctx context.Context) {
	t := time.NewTimer(time.Until(w.deadline()))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A report answered meanwhile moved the deadline.
		if wait := time.Until(w.deadline()); wait > 0 {
			t.Reset(wait)
			continue
		}
		w.stop()
		return
	}
}

// renewsLease reports whether a report that ended with err (nil: answered)
// kept the lease: an answer does, and so does a Lathe server's own 503 (its
// database unreachable, its disk full), since such a server records no loss
// either and gives every lease a fresh TTL once it can write again. A
// proxy's 503 carries no problem document, and says nothing of the kind.
func renewsLease(err error) bool {
	if err == nil {
		return true
	}
	var e *client.Error
	return errors.As(err, &e) && e.Status == http.StatusServiceUnavailable && e.Detail != ""
}

// watching runs fn (the steps) while w watches the lease.
func (w *leaseWatch) watching(ctx context.Context, fn func()) {
	if w == nil {
		fn()
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		w.Run(ctx)
	}()
	defer func() {
		cancel()
		<-watched
	}()
	fn()
}
