package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/lathe-ci/lathe/api"
)

// DefaultRetentionInterval is how often the retention sweep runs.
const DefaultRetentionInterval = time.Hour

// retention is the loop that removes what branches' retention policies,
// artifacts' expire_in and the cache idle time say is past its time (see
// api.Server.SweepRetention), and the blobs deleted runs and projects left
// (api.Server.PruneOrphans). Each sweep is a few transactions that
// re-check their conditions, so replicas running it at once do no harm.
type retention struct {
	api      *api.Server
	interval time.Duration
	log      *slog.Logger
}

// Start runs the loop until the returned stop is called; stop waits for it.
func (r *retention) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.sweep(ctx) // once at start: a server down for a day catches up
		every(ctx, r.interval, r.sweep)
	}()
	return func() {
		cancel()
		<-done
	}
}

func (r *retention) sweep(ctx context.Context) {
	got, err := r.api.SweepRetention(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("retention sweep", "err", err)
		}
		return
	}
	if n := len(got.Artifacts) + len(got.Caches) + got.Logs; n > 0 {
		r.log.Info("retention sweep", "artifacts", len(got.Artifacts), "logs", got.Logs, "caches", len(got.Caches))
	}
	if err := r.api.PruneOrphans(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("retention sweep: remove what deleted runs and projects left", "err", err)
	}
}
