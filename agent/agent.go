// Package agent is Lathe's worker: it long-polls the server for jobs its
// labels allow, checks out the commit into a fresh workspace, runs the steps
// through its executor (a bubblewrap sandbox by default; a container of the
// job's image, with its services, for a job that names one) and ships logs
// and step states back as it goes. Agents only ever dial out to the server.
package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/internal/retry"
)

// Agent runs jobs for one server.
type Agent struct {
	Client  *client.Client
	Name    string
	WorkDir string
	Log     *slog.Logger
	// Heartbeat is how often a running attempt reports even when it has nothing to say.
	Heartbeat time.Duration
	// Grace is how long a canceled step has between SIGTERM and SIGKILL.
	Grace time.Duration
	// LeaseTTL is how long the server holds a running attempt for the
	// agent without hearing from it before it runs the job elsewhere: an
	// agent the server has not heard from for nearly that long stops the
	// attempt's steps (see lease.go). The server says its own with each
	// job (Assignment.LeaseTTLSec), which wins when it is shorter; zero:
	// DefaultLeaseTTL until the server says. Negative: never stop, for an
	// agent that cannot be cut off from its server (one embedded in it).
	LeaseTTL time.Duration
	// TransferPatience is how long an upload, download, artifact, cache or
	// tool transfer goes on trying while the server cannot take it
	// (zero: DefaultTransferPatience).
	TransferPatience time.Duration
	// PollWait is how long one claim request waits for work, in seconds.
	PollWait int
	// Drain, when closed, stops the agent taking work: the job it is
	// running finishes (and keeps heartbeating), then Run returns nil.
	// Ending Run's context instead stops the running job and hands its
	// attempt back to the server, which runs the job again as a new attempt
	// that does not use up its retries.
	Drain <-chan struct{}
	// Executor runs the jobs' steps (see executor.Sandbox).
	Executor executor.Executor
	// Containers runs the jobs that name an image; nil when the agent has
	// no container engine (such jobs then fail here: they need the label
	// executor:container, which only an agent with one carries).
	Containers *executor.Containers
	// PassEnv names variables of the agent's own environment that jobs
	// get too; nothing else of it reaches a job.
	PassEnv []string
	// OneShot makes Run return once the agent has run one job, so every
	// job gets a fresh agent (an agent provider's one_shot).
	OneShot bool
	// ToolCacheBytes bounds the tool archives kept in <work dir>/tools
	// between jobs, pruned at start (zero: DefaultToolCacheBytes).
	ToolCacheBytes int64

	mirrors git.Mirrors
	held    *heldWorkspaces // set by Run
	// remover deletes finished attempts' directories (set by Run).
	remover *remover
	// jobDirsEmpty says the job directories the last attempt used are
	// there and empty, for the next one (see jobDirs).
	jobDirsEmpty bool
	// idle are cleaned workspaces kept for their repository's next job.
	idle idleWorkspaces
}

// Run claims and runs jobs, one at a time, until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	if a.TransferPatience <= 0 {
		a.TransferPatience = DefaultTransferPatience
	}
	if a.Heartbeat <= 0 {
		a.Heartbeat = 10 * time.Second
	}
	if a.PollWait <= 0 {
		a.PollWait = 25
	}
	if a.LeaseTTL == 0 {
		a.LeaseTTL = DefaultLeaseTTL
	}
	a.mirrors.Dir = filepath.Join(a.WorkDir, "git")
	for _, dir := range []string{"ws", "logs", "idle"} {
		// 0700: one agent's workspaces are nobody else's business.
		if err := os.MkdirAll(filepath.Join(a.WorkDir, dir), 0o700); err != nil {
			return err
		}
	}
	if a.Executor == nil {
		return errors.New("agent: no executor")
	}
	held, err := newHeldWorkspaces(a.WorkDir, &a.mirrors, a.Log)
	if err != nil {
		return err
	}
	a.held = held
	if err := a.removeLeftovers(held); err != nil {
		a.Log.Warn("cleaning up after an earlier run", "agent", a.Name, "err", err)
	}
	a.removeLeftoverContainers(ctx)
	a.remover = newRemover(a.Log)
	go a.remover.run()
	defer a.remover.stop()
	if a.ToolCacheBytes <= 0 {
		a.ToolCacheBytes = DefaultToolCacheBytes
	}
	if n, err := pruneToolCache(filepath.Join(a.WorkDir, "tools"), a.ToolCacheBytes); err != nil {
		a.Log.Warn("pruning the tool cache", "agent", a.Name, "err", err)
	} else if n > 0 {
		a.Log.Info("pruned the tool cache", "agent", a.Name, "files", n)
	}
	// The janitor deletes held workspaces as they expire, including those
	// an earlier run of the agent kept; it stops with Run.
	janitorCtx, stopJanitor := context.WithCancel(ctx)
	janitorDone := make(chan struct{})
	go func() {
		defer close(janitorDone)
		held.Run(janitorCtx)
	}()
	defer func() {
		stopJanitor()
		<-janitorDone
	}()
	if s := a.Client.Servers(); s != nil {
		s.OnMove(func(m client.Move) {
			if m.Failed.IsZero() {
				a.Log.Info("back to a server preferred earlier", "agent", a.Name, "from", m.From, "to", m.To)
				return
			}
			a.Log.Warn("moved to another server", "agent", a.Name, "from", m.From, "to", m.To, "after", m.After)
		})
	}
	backoff := retry.Backoff{Base: 100 * time.Millisecond, Cap: 10 * time.Second}
	// One claim ID per claim, kept across retries of it: if the server
	// assigned a job but its answer was lost, the retry gets that job back.
	claimID, resend := newClaimID(), false
	// next is a job the last finish claimed: it runs without a claim
	// request, even when a drain began meanwhile (it is this agent's now).
	var next *lathe.Assignment
	for next != nil || ctx.Err() == nil && !a.draining() {
		as := next
		if as == nil {
			var err error
			if as, err = a.claim(ctx, claimID, resend); err != nil {
				resend = true
				if ctx.Err() != nil || a.draining() {
					break
				}
				if client.StatusOf(err) == 401 {
					return fmt.Errorf("the server does not know this agent's credential (deleted? register again with a new work directory): %w", err)
				}
				wait := backoff.Next()
				a.Log.Warn("claim failed; retrying", "agent", a.Name, "in", wait, "err", err)
				waitCtx, stopWait := a.claimContext(ctx) // a drain ends the wait too
				retry.Sleep(waitCtx, wait)
				stopWait()
				continue
			}
			backoff.Reset()
		}
		claimID, resend = newClaimID(), false
		if as == nil {
			continue
		}
		var sent bool
		if next, sent = a.runJob(ctx, as, a.nextClaim(claimID)); sent && next == nil {
			resend = true // the finish's claim may have been made and its answer lost
		}
		if a.OneShot {
			a.Log.Info("one-shot agent ran its job; exiting", "agent", a.Name)
			break
		}
	}
	return nil
}

// nextClaim is the claim a job's finish carries: claimID, never sent
// before; none for a one-shot agent, which runs one job.
func (a *Agent) nextClaim(claimID string) nextClaim {
	if a.OneShot {
		return nextClaim{}
	}
	return nextClaim{id: claimID, first: true}
}

// claim long-polls once for a job with claimID (resend: sent before).
func (a *Agent) claim(ctx context.Context, claimID string, resend bool) (*lathe.Assignment, error) {
	claimCtx, stopClaim := a.claimContext(ctx)
	defer stopClaim()
	// A server that neither answers nor drops the connection (its host
	// gone, packets dropped) is given up on after the long-poll plus
	// claimSlack, and the claim tried again, on another replica when there
	// is one.
	claimCtx, stopWait := context.WithTimeout(claimCtx, time.Duration(a.PollWait)*time.Second+claimSlack)
	defer stopWait()
	if resend {
		return a.Client.Claim(claimCtx, a.PollWait, claimID) // the ID was sent: the retry may find its attempt
	}
	return a.Client.ClaimNew(claimCtx, a.PollWait, claimID)
}

// claimSlack is how much longer than its long-poll a claim may take to be
// answered before the agent gives up on that server.
const claimSlack = 15 * time.Second

func (a *Agent) draining() bool {
	select {
	case <-a.Drain:
		return true
	default:
		return false
	}
}

// claimContext is ctx, also ended by Drain: a drained agent abandons its
// long-poll at once rather than waiting for work it would not take.
func (a *Agent) claimContext(ctx context.Context) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithCancel(ctx)
	if a.Drain != nil {
		go func() {
			select {
			case <-a.Drain:
				cancel()
			case <-cctx.Done():
			}
		}()
	}
	return cctx, cancel
}

// newClaimID returns a random claim ID (see lathe.ClaimIDHeader).
func newClaimID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// grace is how long the executor gives a canceled step before SIGKILL.
func (a *Agent) grace() time.Duration {
	if a.Grace > 0 {
		return a.Grace
	}
	return defaultGrace
}
