// Package delivery sends what the store's outbox holds — commit statuses to
// forges and events to project webhooks — through the outbound client, and
// records each try. It runs beside the server's other loops; a run never
// waits for it, and a forge or receiver that is down only delays its own
// messages.
//
// It imports store, forge, outbound, webhook and clock.
package delivery

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/outbound"
	"github.com/lathe-ci/lathe/store"
)

// Repos tells which forge repository a project's statuses go to.
type Repos interface {
	// ForgeRepo is the project's repository on its forge, with the
	// connection's token; nil when the project has none (its statuses are
	// then skipped).
	ForgeRepo(ctx context.Context, projectID int64) (*forge.Repo, error)
}

// Defaults of Loop.
const (
	DefaultPoll    = 10 * time.Second
	DefaultWorkers = 4
	// batch bounds the deliveries claimed at once; lease how long a claim
	// keeps them from other replicas' loops (longer than any try).
	batch = 32
	lease = 2 * time.Minute
)

// Loop sends the outbox's deliveries as they come due.
type Loop struct {
	Store  *store.Store
	Client *outbound.Client
	// Repos finds a project's forge repository; nil: no project has one.
	Repos Repos
	// Keys open webhook secrets; nil: webhook messages cannot be signed (and fail).
	Keys store.Sealer
	// PublicURL is the server's address as forges' users reach it: the
	// statuses' links to runs start with it.
	PublicURL string
	Clock     clock.Clock
	// Poll is how often the loop looks without being woken (zero:
	// DefaultPoll); Workers how many deliveries go out at once.
	Poll    time.Duration
	Workers int
	Log     *slog.Logger
	// Observe, when set, is told each try's kind, outcome and duration
	// (for /metrics).
	Observe func(kind string, try store.Try, d time.Duration)
}

// Run sends deliveries until ctx ends. It wakes when deliveries are queued
// (the store's outbox signal), when the next retry is due, and every Poll.
func (l *Loop) Run(ctx context.Context) {
	if l.Clock == nil {
		l.Clock = clock.System
	}
	if l.Poll <= 0 {
		l.Poll = DefaultPoll
	}
	if l.Workers <= 0 {
		l.Workers = DefaultWorkers
	}
	if l.Log == nil {
		l.Log = slog.Default()
	}
	for {
		// Take the wait handle before looking, so a delivery queued while
		// this pass runs wakes the next.
		wake := l.Store.OutboxSignal(ctx)
		t := time.NewTimer(l.pass(ctx))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// pass sends everything due and returns how long to wait for the next.
func (l *Loop) pass(ctx context.Context) time.Duration {
	for ctx.Err() == nil {
		claimed, err := l.Store.ClaimDeliveries(ctx, l.Keys, batch, lease)
		if err != nil {
			if ctx.Err() == nil {
				l.Log.Warn("deliveries: claim", "err", err)
			}
			return l.Poll
		}
		l.sendAll(ctx, claimed)
		if len(claimed) < batch {
			break
		}
	}
	next, ok, err := l.Store.NextDelivery(ctx)
	if err != nil || !ok {
		return l.Poll
	}
	d := next.Sub(l.Clock.Now())
	if d <= 0 {
		// Due but claimed by another replica: look again in a while.
		d = time.Second
	}
	return min(d, l.Poll)
}

// sendAll sends claimed deliveries, Workers at a time, and records each try.
func (l *Loop) sendAll(ctx context.Context, claimed []*store.Outgoing) {
	work := make(chan *store.Outgoing)
	var wg sync.WaitGroup
	for range min(l.Workers, len(claimed)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				start := time.Now()
				try := l.send(ctx, o)
				if ctx.Err() != nil {
					// Stopping: the try was cut short, not answered.
					if err := l.Store.ReleaseDelivery(context.WithoutCancel(ctx), o.ID); err != nil {
						l.Log.Warn("deliveries: release", "delivery_id", o.ID, "err", err)
					}
					continue
				}
				if l.Observe != nil {
					l.Observe(string(o.Kind), try, time.Since(start))
				}
				// A delivery gone meanwhile went with its webhook or project:
				// nothing is left to record the try on.
				if err := l.Store.RecordTry(context.WithoutCancel(ctx), o.ID, try); err != nil && !errors.Is(err, lathe.ErrNotFound) {
					l.Log.Warn("deliveries: record a try", "delivery_id", o.ID, "err", err)
				}
			}
		}()
	}
	for _, o := range claimed {
		work <- o
	}
	close(work)
	wg.Wait()
}
