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
//
// Leases are renewed before the first sweep and before the first one after
// the database was unreachable or its disk full: while the server was down,
// or could not write, agents' heartbeats went unrecorded through no fault of theirs, so
// each lease gets a fresh TTL to hear from its agent before it is judged.
func (w *sweeper) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	lastOK := time.Now()
	renew := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var res store.SweepResult
		err := w.renewLeases(ctx, &renew)
		if err == nil {
			res, err = w.store.Sweep(ctx, w.policy)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			renew = renew || store.Unavailable(err) || store.DiskFull(err)
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

// renewLeases renews every running attempt's lease when *renew is set, and
// clears it once that is done.
func (w *sweeper) renewLeases(ctx context.Context, renew *bool) error {
	if !*renew {
		return nil
	}
	n, err := w.store.RenewLeases(ctx)
	if err != nil {
		return err
	}
	*renew = false
	if n > 0 {
		w.log.Info("leases renewed: the server could not record heartbeats for a while", "attempts", n)
	}
	return nil
}
