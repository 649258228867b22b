// Package agent is Lathe's worker: it long-polls the server for jobs its
// labels allow, checks out the commit into a fresh workspace, runs the steps
// with the shell executor and ships logs and step states back as it goes.
// Agents only ever dial out to the server.
package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/git"
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
	// PollWait is how long one claim request waits for work, in seconds.
	PollWait int

	mirrors git.Mirrors
}

// Run claims and runs jobs, one at a time, until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	if a.Heartbeat <= 0 {
		a.Heartbeat = 10 * time.Second
	}
	if a.PollWait <= 0 {
		a.PollWait = 25
	}
	a.mirrors.Dir = filepath.Join(a.WorkDir, "git")
	for _, dir := range []string{"ws", "logs"} {
		if err := os.MkdirAll(filepath.Join(a.WorkDir, dir), 0o755); err != nil {
			return err
		}
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		as, err := a.Client.Claim(ctx, a.PollWait)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if client.StatusOf(err) == 401 {
				return errors.New("the server does not know this agent's credential")
			}
			a.Log.Warn("claim failed; retrying", "agent", a.Name, "in", backoff, "err", err)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if as != nil {
			a.runJob(ctx, as)
		}
	}
	return nil
}
