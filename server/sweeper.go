package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// Defaults of the lifecycle settings in Config.
const (
	DefaultSweepInterval = 5 * time.Second
	DefaultInfraRetries  = 2
	DefaultTimeoutGrace  = 30 * time.Second
	DefaultQueueTimeout  = time.Hour
)

// sweepLimit bounds what one tick changes in each category (lost, timed
// out, queued jobs), so a backlog is worked off over a few ticks instead of
// holding the database in one long pass.
const sweepLimit = 200

// sweeper is the lease sweeper: every interval it marks attempts whose
// agents stopped reporting lost (retrying their jobs within bounds), times
// out attempts overrunning their job's timeout, and explains or fails queued
// jobs no online agent can take. Each change is its own transaction that
// re-checks its condition under the run's lock, so sweepers on several
// replicas can run at once without doing anything twice.
type sweeper struct {
	store    *store.Store
	policy   store.SweepPolicy
	interval time.Duration
	log      *slog.Logger
}

func newSweeper(st *store.Store, cfg Config) *sweeper {
	p := store.SweepPolicy{
		InfraRetries: cfg.InfraRetries,
		TimeoutGrace: cfg.TimeoutGrace,
		QueueTimeout: cfg.QueueTimeout,
		OnlineWindow: lathe.AgentOnlineWindow,
		Limit:        sweepLimit,
	}
	switch {
	case p.InfraRetries == 0:
		p.InfraRetries = DefaultInfraRetries
	case p.InfraRetries < 0:
		p.InfraRetries = 0
	}
	if p.TimeoutGrace <= 0 {
		p.TimeoutGrace = DefaultTimeoutGrace
	}
	if p.QueueTimeout == 0 {
		p.QueueTimeout = DefaultQueueTimeout
	}
	interval := cfg.SweepInterval
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	return &sweeper{store: st, policy: p, interval: interval, log: cfg.Log}
}

// Start runs the sweeper until the returned stop is called; stop waits for
// the sweep in progress to end.
func (w *sweeper) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.Run(ctx)
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

// Run sweeps every interval until ctx ends. A failed sweep is logged with
// how long it has been since one succeeded; the next tick tries again.
func (w *sweeper) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := w.store.Sweep(ctx, w.policy)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.log.Warn("lease sweep failed", "since_last_success", time.Since(lastOK).Round(time.Second), "err", err)
			continue
		}
		lastOK = time.Now()
		if res != (store.SweepResult{}) {
			w.log.Info("lease sweep", "lost", res.Lost, "retried", res.Retried, "timed_out", res.TimedOut,
				"waiting", res.Waiting, "failed_in_queue", res.Failed)
		}
	}
}
