package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/trigger"
)

// Defaults of the automatic-trigger settings in Config.
const (
	DefaultChainInterval    = time.Second
	DefaultScheduleInterval = 30 * time.Second
	DefaultHeadPollInterval = 5 * time.Minute
)

// chainBatch bounds the finished runs one chain tick looks at.
const chainBatch = 100

// automation starts the runs nobody asks for by hand: pipelines that follow
// a successful pipeline (on: pipeline: after) and cron schedules. Both work
// from the database (a run's downstream_done, a schedule's next_at) and
// claim each firing with a conditional update, so a restart loses none and
// several replicas never fire one twice.
type automation struct {
	trigger       *trigger.Service
	store         *store.Store
	chainEvery    time.Duration
	scheduleEvery time.Duration
	// pollEvery is how often the schedule loop asks remotes for their
	// heads; lastPoll when it last did (the zero time: not yet).
	pollEvery time.Duration
	lastPoll  time.Time
	clock     clock.Clock
	log       *slog.Logger
}

func newAutomation(tr *trigger.Service, st *store.Store, cfg Config) *automation {
	a := &automation{trigger: tr, store: st, chainEvery: cfg.ChainInterval, scheduleEvery: cfg.ScheduleInterval,
		pollEvery: cfg.HeadPollInterval, clock: cfg.Clock, log: cfg.Log}
	if a.clock == nil {
		a.clock = clock.System
	}
	if a.chainEvery <= 0 {
		a.chainEvery = DefaultChainInterval
	}
	if a.scheduleEvery <= 0 {
		a.scheduleEvery = DefaultScheduleInterval
	}
	if a.pollEvery <= 0 {
		a.pollEvery = DefaultHeadPollInterval
	}
	return a
}

// Start runs both loops until the returned stop is called; stop waits for them.
func (a *automation) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); every(ctx, a.chainEvery, a.chain) }()
	go func() { defer wg.Done(); onTheClock(ctx, a.scheduleEvery, a.schedules) }()
	return func() {
		cancel()
		wg.Wait()
	}
}

// every calls fn each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// onTheClock calls fn at each multiple of interval on the wall clock (at
// :00 and :30 of every minute for 30 s) until ctx ends, so that a cron
// schedule, due on a minute, fires as that minute starts rather than up
// to an interval later.
func onTheClock(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	for {
		t := time.NewTimer(time.Until(nextTick(time.Now(), interval)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// nextTick is the first multiple of interval on the wall clock after now.
func nextTick(now time.Time, interval time.Duration) time.Time {
	return now.Truncate(interval).Add(interval)
}

// chain starts the downstream pipelines of runs that finished since the
// last tick. A run is claimed before its downstream starts: a crash between
// the two loses that downstream (logged as it happens) rather than starting
// it twice.
func (a *automation) chain(ctx context.Context) {
	runs, err := a.store.FinishedUnchained(ctx, chainBatch)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("downstream pipelines: list finished runs", "err", err)
		}
		return
	}
	for _, r := range runs {
		claimed, err := a.store.ClaimChain(ctx, r.ID)
		if err != nil || !claimed {
			continue
		}
		started, err := a.trigger.Downstream(ctx, r)
		if err != nil {
			a.log.Warn("downstream pipelines not started", "run_id", r.ID, "pipeline", r.Pipeline, "err", err)
		}
		for _, d := range started {
			a.log.Info("downstream pipeline started", "run_id", d.ID, "pipeline", d.Pipeline, "after_run_id", r.ID)
		}
	}
}

// schedules fires the cron schedules that are due, having read again the
// schedules of the default branches whose head moved. Heads move when runs
// and hooks say so; every pollEvery (and at the first tick) it asks the
// remotes too, for those whose hooks do not reach the server, and at every
// tick the remotes of projects whose default branch is not tracked yet.
func (a *automation) schedules(ctx context.Context) {
	now := a.clock.Now()
	poll := a.trigger.PollNewHeads
	if a.lastPoll.IsZero() || now.Sub(a.lastPoll) >= a.pollEvery {
		a.lastPoll, poll = now, a.trigger.PollHeads
	}
	if err := poll(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("schedules: poll branch heads", "err", err)
	}
	if err := a.trigger.ReadSchedules(ctx, now); err != nil && ctx.Err() == nil {
		a.log.Warn("schedules: read pipelines", "err", err)
	}
	n, err := a.trigger.FireSchedules(ctx, now)
	if err != nil && ctx.Err() == nil {
		a.log.Warn("schedules", "started", n, "err", err)
	}
}
