// Package store persists Lathe's state in SQLite (the embedded default) or
// PostgreSQL (for many server replicas). All scheduling state lives here: a
// server restart loses nothing. Both engines share one set of hand-written
// queries (written with ? placeholders, rebound for PostgreSQL); where the
// dialects differ, the difference sits in the dialect struct, side by side.
//
// The store depends on the domain package, the pure engine package, and the
// notify and clock seams only.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the pure-Go "sqlite" driver

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/notify"
)

// Store is the database behind one Lathe server.
type Store struct {
	// w takes every write transaction. On SQLite it is a single connection, so
	// writers queue in Go instead of sleeping in SQLite's busy handler; on
	// PostgreSQL w and r are the same pool.
	w, r *sql.DB
	d    dialect
	now  func() time.Time

	// LeaseTTL is how long an attempt stays claimed without a report from
	// its agent (DefaultLeaseTTL when zero). Set it before serving.
	LeaseTTL time.Duration

	notifier notify.Notifier
	// agents caches agent credentials (see AgentByToken).
	agents agentCache
	// touched is when this server last recorded each agent as seen (see TouchAgent).
	touched touches
	// idle remembers the label sets a claim found nothing for (see NothingClaimable).
	idle claimIdle
	// claiming lets one claim of this server per set of labels read the
	// queue at a time on PostgreSQL (see claimTry).
	claiming claimTurns
	// wStmts and rStmts are the statements prepared on w and r (nil: none
	// are, see stmtCache).
	wStmts, rStmts *stmtCache
	// observe, when set, is told how long each query and write transaction
	// took (see SetObserver).
	observe func(kind string, d time.Duration)
	// attemptObs is told of every attempt started and ended (see
	// SetAttemptObserver).
	attemptObs AttemptObserver
}

// Query kinds given to the observer (see SetObserver).
const (
	// ObserveRead is a query outside a transaction, on the read pool.
	ObserveRead = "read"
	// ObserveWrite is a statement inside a write transaction.
	ObserveWrite = "write"
	// ObserveTx is a whole write transaction, begin to commit.
	ObserveTx = "transaction"
)

// SetObserver makes the store tell observe how long each query (kind
// ObserveRead or ObserveWrite) and each write transaction (ObserveTx)
// took, for /metrics. Set it before serving.
func (s *Store) SetObserver(observe func(kind string, d time.Duration)) { s.observe = observe }

type dialect struct {
	name string // "sqlite" or "postgres"
	// rebind turns ? placeholders into the engine's own.
	rebind func(string) string
	// lockRun is appended to the SELECT that serialises writers of one run.
	lockRun string
	// lockShared is appended to a SELECT whose rows must not change until
	// the transaction ends (SQLite's single writer gives that already).
	lockShared string
}

var sqliteDialect = dialect{name: "sqlite", rebind: func(q string) string { return q }}

var postgresDialect = dialect{
	name:       "postgres",
	rebind:     rebindDollar,
	lockRun:    " FOR UPDATE",
	lockShared: " FOR SHARE",
}

// openDSN opens the database dsn names, as Open takes it, without
// migrating it.
func openDSN(dsn string) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(dsn)
	}
	return openSQLite(strings.TrimPrefix(dsn, "sqlite:"))
}

// Open opens (creating if needed) the database named by dsn and applies
// pending migrations. dsn is a postgres:// or postgresql:// URL, or a SQLite
// file path (optionally prefixed with sqlite:).
func Open(ctx context.Context, dsn string) (*Store, error) {
	s, err := openDSN(dsn)
	if err != nil {
		return nil, err
	}
	s.now = func() time.Time { return time.Now().UTC() }
	s.notifier = notify.NewLocal()
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openSQLite(path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	// WAL lets readers run beside the writer; synchronous=NORMAL keeps every
	// committed transaction across a process crash (kill -9), trading only the
	// last commits on a power loss for a commit without fsync.
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(ON)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	base := "file:" + path + "?"
	w, err := sql.Open("sqlite", base+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	q.Set("_txlock", "deferred")
	r, err := sql.Open("sqlite", base+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s := &Store{w: w, r: r, d: sqliteDialect}
	s.wStmts, s.rStmts = newStmtCache(w, s.d), newStmtCache(r, s.d)
	return s, nil
}

// IdleTxTimeout is how long PostgreSQL lets one of a replica's sessions sit
// in an open transaction waiting for the replica, unless the database URL
// sets idle_in_transaction_session_timeout itself. Lathe's transactions
// never wait on anything but the database, so a session idle that long
// belongs to a replica that hangs (its host frozen, cut off from the
// database) while holding row locks: a run's lock, which every claimer of
// that run's jobs on every other replica would wait for until the hang
// ended. PostgreSQL ends the session instead and the locks go.
const IdleTxTimeout = 20 * time.Second

// withIdleTxTimeout returns dsn with IdleTxTimeout as its sessions'
// idle_in_transaction_session_timeout, unless it sets one.
func withIdleTxTimeout(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	q := u.Query()
	if q.Has("idle_in_transaction_session_timeout") {
		return dsn, nil
	}
	q.Set("idle_in_transaction_session_timeout", strconv.FormatInt(IdleTxTimeout.Milliseconds(), 10))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func openPostgres(dsn string) (*Store, error) {
	dsn, err := withIdleTxTimeout(dsn)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(DefaultPostgresConns)
	db.SetMaxIdleConns(DefaultPostgresConns)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	d := postgresDialect
	d.rebind = cachedRebind(rebindDollar)
	return &Store{w: db, r: db, d: d}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	err := errors.Join(s.flushTouches(), s.wStmts.close(), s.rStmts.close(), s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// Engine names the database engine: "sqlite" or "postgres".
func (s *Store) Engine() string { return s.d.name }

// tx runs fn in one write transaction, committing if fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(*txn) error) error {
	if s.observe != nil {
		defer s.since(ObserveTx, time.Now())
	}
	if s.d.name == "postgres" {
		return pgTxOn(ctx, s.w, func(p *pgTx) error { return s.run(ctx, s.newTxn(nil, p), fn) })
	}
	t, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	x := s.newTxn(t, nil)
	defer x.prepareLater(ctx)
	return s.run(ctx, x, fn)
}

// newTxn starts a txn's bookkeeping on tx or pg. Times are stored in
// microseconds; reading the clock at that precision makes what a write
// hands back equal to what a later read returns.
func (s *Store) newTxn(tx *sql.Tx, pg *pgTx) *txn {
	return &txn{tx: tx, pg: pg, d: s.d, now: s.now().Truncate(time.Microsecond), leaseTTL: s.LeaseTTLOrDefault(), stmts: s.wStmts, observe: s.observe}
}

// run runs fn in x and its outbox, then commits, or rolls back on an error.
func (s *Store) run(ctx context.Context, x *txn, fn func(*txn) error) error {
	if err := fn(x); err != nil {
		x.rollback(ctx)
		return err
	}
	if err := x.flushOutbox(ctx); err != nil {
		x.rollback(ctx)
		return err
	}
	if err := x.commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, f := range x.afterCommit {
		f(s)
	}
	return nil
}

// txn is a write transaction with the dialect's placeholders and one clock
// reading, so every row a transaction touches gets the same time.
type txn struct {
	// tx is the transaction on SQLite, pg on PostgreSQL.
	tx  *sql.Tx
	pg  *pgTx
	d   dialect
	now time.Time
	// leaseTTL is how far a claim or a report pushes an attempt's lease.
	leaseTTL time.Duration
	// afterCommit runs once the transaction is durable (to wake waiters).
	afterCommit []func(*Store)
	// queuedOn are the runs_on of the jobs the transaction queued (see queued).
	queuedOn map[string]bool
	// stmts are the writer's prepared statements; unprepared the queries
	// the transaction found without one (see stmt).
	stmts      *stmtCache
	unprepared []string
	// transitions are the run and job status changes made, and outbound
	// what the projects of the runs advanced send (see outbox.go).
	transitions []transition
	outbound    map[int64]int
	// heads are the runs lockRun locked, as it read them (see runHeadLocked).
	heads map[int64]runHead
	// prefetched is a run's path read ahead (see prefetchRunPath).
	prefetched *prefetchedPath
	// observe is the store's (see SetObserver).
	observe func(kind string, d time.Duration)
}

func (t *txn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if t.observe != nil {
		defer t.since(time.Now())
	}
	if t.pg != nil {
		return t.pg.exec(ctx, t.d.rebind(q), args)
	}
	if st := t.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t *txn) query(ctx context.Context, q string, args ...any) (rows, error) {
	if t.observe != nil {
		defer t.since(time.Now())
	}
	if t.pg != nil {
		return t.pg.query(ctx, t.d.rebind(q), args)
	}
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

// queryRow runs the query at once (the time observed); Scan reads its row.
func (t *txn) queryRow(ctx context.Context, q string, args ...any) row {
	if t.observe != nil {
		defer t.since(time.Now())
	}
	if t.pg != nil {
		return t.pg.queryRow(ctx, t.d.rebind(q), args)
	}
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

func (t *txn) commit(ctx context.Context) error {
	if t.pg != nil {
		return t.pg.commit(ctx)
	}
	return t.tx.Commit()
}

func (t *txn) rollback(ctx context.Context) {
	if t.pg != nil {
		t.pg.rollback(ctx)
		return
	}
	t.tx.Rollback()
}

// write runs a statement whose result the transaction does not read: it
// changes what it changes, and nothing the transaction decides depends on
// how many rows that was. On PostgreSQL it waits to be sent with the
// transaction's next statement or its COMMIT, sharing their round trip;
// an error it meets fails the transaction there.
func (t *txn) write(ctx context.Context, q string, args ...any) error {
	if t.pg != nil {
		t.pg.write(t.d.rebind(q), args)
		return nil
	}
	_, err := t.exec(ctx, q, args...)
	return err
}

// writeAffecting is write for an UPDATE, INSERT or DELETE (without
// RETURNING) that must change want rows at least: fewer is errStale,
// named by what. On SQLite it runs at once. On PostgreSQL the database
// counts the rows (lathe_expect_rows fails the statement, and so the
// transaction, with SQLSTATE LA001), so the write waits like any other,
// even to go with COMMIT, and the statement it goes with fails.
func (t *txn) writeAffecting(ctx context.Context, want int64, what string, q string, args ...any) error {
	if t.pg != nil {
		q = `WITH w AS (` + q + ` RETURNING 1) SELECT lathe_expect_rows(count(*), ?, ?) FROM w`
		t.pg.pending = append(t.pg.pending, pendingStmt{q: t.d.rebind(q), args: append(slices.Clip(args), want, what), what: what})
		return nil
	}
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return affected(res, want, what)
}

// affected checks that a write changed want rows at least (see writeAffecting).
func affected(res sql.Result, want int64, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n < want {
		return fmt.Errorf("%s: %w", what, errStale)
	}
	return nil
}

// readLater is queryRow for a read whose row the transaction needs only
// by its next statement: on PostgreSQL it waits to be sent with that
// statement, sharing its round trip (the next statement still runs after
// it, and sees what it locked), and read takes its row when the answers
// come; an error read returns fails that statement. On SQLite it runs at
// once.
func (t *txn) readLater(ctx context.Context, read func(row) error, q string, args ...any) error {
	if t.pg != nil {
		t.pg.pending = append(t.pg.pending, pendingStmt{q: t.d.rebind(q), args: args, read: read})
		return nil
	}
	return read(t.queryRow(ctx, q, args...))
}

func (t *txn) since(start time.Time) { t.observe(ObserveWrite, time.Since(start)) }

func (s *Store) since(kind string, start time.Time) { s.observe(kind, time.Since(start)) }

// queryRow and query read outside a transaction, from the read pool.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) row {
	if s.observe != nil {
		defer s.since(ObserveRead, time.Now())
	}
	if st := s.rStmts.prepare(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, s.d.rebind(q), args...)
}

func (s *Store) query(ctx context.Context, q string, args ...any) (rows, error) {
	if s.observe != nil {
		defer s.since(ObserveRead, time.Now())
	}
	if st := s.rStmts.prepare(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.r.QueryContext(ctx, s.d.rebind(q), args...)
}

// rebindDollar rewrites ? placeholders as $1, $2, … . Queries in this package
// never put a ? inside a string literal.
func rebindDollar(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// cachedRebind remembers what rebind made of each query, so a statement
// run again is not rewritten again (the store runs a few hundred distinct
// ones; queries with a varying number of placeholders stop being
// remembered once maxRebound are).
func cachedRebind(rebind func(string) string) func(string) string {
	var m sync.Map
	var n atomic.Int64
	return func(q string) string {
		if r, ok := m.Load(q); ok {
			return r.(string)
		}
		r := rebind(q)
		if n.Load() < maxRebound {
			if _, had := m.LoadOrStore(q, r); !had {
				n.Add(1)
			}
		}
		return r
	}
}

// maxRebound bounds cachedRebind's memory.
const maxRebound = 2048

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.r.PingContext(ctx) }

// notFound maps sql.ErrNoRows to lathe.ErrNotFound with what was looked up.
func notFound(err error, what string, key any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %v: %w", what, key, lathe.ErrNotFound)
	}
	return fmt.Errorf("%s %v: %w", what, key, err)
}

// expectedRows reports whether err is lathe_expect_rows failing a write
// (see writeAffecting).
func expectedRows(err error) bool {
	var e interface{ SQLState() string }
	return errors.As(err, &e) && e.SQLState() == "LA001"
}

// uniqueViolation reports whether err is PostgreSQL's unique_violation: a
// concurrent writer took the key between our check and our write. (SQLite
// writers are serialised, so the check inside the transaction suffices.)
func uniqueViolation(err error) bool {
	var e interface{ SQLState() string }
	return errors.As(err, &e) && e.SQLState() == "23505"
}

// micros is the storage form of a time: unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// idArgs makes ids the arguments of an IN list of placeholders(len(ids)).
func idArgs(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}

// scanColumn reads the one column a query answered (IDs, names), and
// closes rs.
func scanColumn[T any](rs rows) ([]T, error) {
	defer rs.Close()
	var out []T
	for rs.Next() {
		var v T
		if err := rs.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rs.Err()
}
