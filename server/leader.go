package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// leaderLock is the PostgreSQL advisory lock key the leader holds
// (an arbitrary constant: "lathe" in ASCII).
const leaderLock int64 = 0x6c61746865

// DefaultLeaderRetry is how often a replica that does not lead tries to
// take the lead, and how often the leader checks it still holds it.
const DefaultLeaderRetry = time.Second

// leader runs the periodic duties (lease sweeper, downstream pipelines,
// schedules, retention) on one replica only. On PostgreSQL that replica
// holds an advisory lock on a connection of its own: when it dies its
// session ends, the lock is released, and another replica, trying every
// retry on a connection it keeps for that, takes it. On SQLite the one
// server leads.
type leader struct {
	dsn   string // "" for SQLite
	retry time.Duration
	log   *slog.Logger
	held  atomic.Bool
	// down counts the connects that failed in a row, so that a database
	// that is down is logged at once and then once a minute, not every try.
	down repeats
}

// Start runs duties while this replica leads, until the returned stop is
// called; duties' own stop is called when the lead is lost.
func (l *leader) Start(ctx context.Context, duties func(context.Context) (stop func())) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.run(ctx, duties)
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

func (l *leader) run(ctx context.Context, duties func(context.Context) (stop func())) {
	if l.dsn == "" {
		l.held.Store(true)
		stop := duties(ctx)
		<-ctx.Done()
		stop()
		l.held.Store(false)
		return
	}
	retry := l.retry
	if retry <= 0 {
		retry = DefaultLeaderRetry
	}
	t := time.NewTicker(retry)
	defer t.Stop()
	// c is kept between tries: a new session every second on each replica
	// that does not lead would cost PostgreSQL a backend process and both
	// sides an authentication each time. It is dropped after leading (the
	// lock goes with it) and whenever it fails.
	var c *pgx.Conn
	defer func() {
		if c != nil {
			c.Close(context.Background())
		}
	}()
	for {
		if c == nil {
			c = l.connect(ctx)
		}
		if c != nil {
			got, err := tryLead(ctx, c)
			if got {
				l.lead(ctx, c, t, duties)
			}
			if got || err != nil {
				c.Close(context.Background())
				c = nil
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// LeaderSessionName is the application_name of each replica's session that
// holds or tries the leader's lock (pg_stat_activity shows it), unless the
// database URL names the replica's sessions itself.
const LeaderSessionName = "lathe leader"

// connect opens the connection the lock is tried on, or returns nil.
func (l *leader) connect(ctx context.Context) *pgx.Conn {
	cfg, err := pgx.ParseConfig(l.dsn)
	if err == nil {
		if _, named := cfg.RuntimeParams["application_name"]; !named {
			cfg.RuntimeParams["application_name"] = LeaderSessionName
		}
	}
	var c *pgx.Conn
	if err == nil {
		c, err = pgx.ConnectConfig(ctx, cfg)
	}
	if err != nil {
		if ctx.Err() == nil {
			if n, logIt := l.down.fail(time.Now()); logIt {
				l.log.Warn("leader: connect", "err", err, "tries", n)
			}
		}
		return nil
	}
	if n := l.down.ok(); n > 0 {
		l.log.Info("leader: connected again", "failed_tries", n)
	}
	return c
}

// repeats is a failure that repeats: the first of a run of them is worth
// a log line, the next ones only once every repeatsLogged.
type repeats struct {
	n      int
	logged time.Time
}

// repeatsLogged is how often a failure that goes on is logged again.
const repeatsLogged = time.Minute

// fail counts one more failure at now and says whether to log it.
func (r *repeats) fail(now time.Time) (n int, logIt bool) {
	r.n++
	if r.n == 1 || now.Sub(r.logged) >= repeatsLogged {
		r.logged = now
		return r.n, true
	}
	return r.n, false
}

// ok ends a run of failures and returns how long it was.
func (r *repeats) ok() int {
	n := r.n
	*r = repeats{}
	return n
}

// tryLead takes the lock on c if no other session holds it.
func tryLead(ctx context.Context, c *pgx.Conn) (got bool, err error) {
	err = c.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", leaderLock).Scan(&got)
	return got && err == nil, err
}

// lead runs duties while c answers, checking it every tick of t.
func (l *leader) lead(ctx context.Context, c *pgx.Conn, t *time.Ticker, duties func(context.Context) (stop func())) {
	l.held.Store(true)
	l.log.Info("leading: this replica runs the periodic duties")
	dctx, cancel := context.WithCancel(ctx)
	stop := duties(dctx)
	defer func() {
		cancel()
		stop()
		l.held.Store(false)
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, done := context.WithTimeout(ctx, l.retry+time.Second)
		err := c.Ping(pctx)
		done()
		if err != nil {
			if ctx.Err() == nil {
				l.log.Warn("leader: lost the lead", "err", err)
			}
			return
		}
	}
}
