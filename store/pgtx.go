package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// rows is what a query hands back: database/sql's on SQLite and for reads,
// pgx's own inside a PostgreSQL write transaction.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// row is one row a query hands back; Scan says sql.ErrNoRows when there
// is none.
type row interface {
	Scan(dest ...any) error
}

// pgTx is a write transaction on one of the pool's PostgreSQL connections,
// spoken through pgx itself rather than database/sql, so that statements
// can share round trips: BEGIN goes with the transaction's first statement
// (database/sql waits for BEGIN's answer first), and the writes whose
// result the transaction does not read (see txn.write) wait to go with the
// next statement or with COMMIT. A transaction that runs no statement
// sends nothing at all.
type pgTx struct {
	conn    *pgx.Conn
	begun   bool
	pending []pendingStmt
}

// pendingStmt is a statement waiting to be sent: a write (see pgTx.write;
// what names one that must change rows, see txn.writeAffecting, in the
// error when it does not), or a read whose row read takes when its answer
// comes (see txn.readLater).
type pendingStmt struct {
	q    string
	args []any
	what string
	read func(row) error
}

// pgTxOn runs fn with a pgTx on a connection of db (a pgx stdlib pool).
// The pool never hands out again a connection the transaction left broken
// or inside a transaction: pgx's stdlib driver refuses to reset such a
// session (Conn.ResetSession), and database/sql then drops it.
func pgTxOn(ctx context.Context, db *sql.DB, fn func(*pgTx) error) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("begin: the PostgreSQL pool's connection is a %T, not pgx's", dc)
		}
		return fn(&pgTx{conn: sc.Conn()})
	})
}

// send sends what is due before q — BEGIN if the transaction has not
// begun, then the writes waiting — with q in one batch, and reads their
// answers; q's is the batch's next result. It returns nil when nothing is
// due: q then goes on its own.
func (p *pgTx) send(ctx context.Context, q string, args []any) (pgx.BatchResults, error) {
	if p.begun && len(p.pending) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	if !p.begun {
		b.Queue("BEGIN")
	}
	for _, w := range p.pending {
		b.Queue(w.q, w.args...)
	}
	b.Queue(q, args...)
	br := p.conn.SendBatch(ctx, b)
	if !p.begun {
		p.begun = true
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, fmt.Errorf("begin: %w", err)
		}
	}
	pending := p.pending
	p.pending = nil
	for _, w := range pending {
		if w.read != nil {
			r, err := br.Query()
			if err = w.read(pgRow{&pgRows{Rows: r}, err}); err != nil {
				br.Close()
				return nil, err
			}
			continue
		}
		if _, err := br.Exec(); err != nil {
			br.Close()
			if expectedRows(err) {
				return nil, fmt.Errorf("%s: %w", w.what, errStale)
			}
			return nil, fmt.Errorf("%s: %w", statementName(w.q), err)
		}
	}
	return br, nil
}

// statementName names a statement in an error by its first words
// ("INSERT INTO log_chunks").
func statementName(q string) string {
	f := strings.Fields(q)
	return strings.Join(f[:min(3, len(f))], " ")
}

// write queues a statement whose result the transaction does not read.
func (p *pgTx) write(q string, args []any) {
	p.pending = append(p.pending, pendingStmt{q: q, args: args})
}

func (p *pgTx) exec(ctx context.Context, q string, args []any) (sql.Result, error) {
	tag, err := p.execTag(ctx, q, args)
	if err != nil {
		return nil, err
	}
	return pgResult(tag), nil
}

func (p *pgTx) execTag(ctx context.Context, q string, args []any) (pgconn.CommandTag, error) {
	br, err := p.send(ctx, q, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	if br == nil {
		return p.conn.Exec(ctx, q, args...)
	}
	tag, err := br.Exec()
	return tag, errors.Join(err, br.Close())
}

func (p *pgTx) query(ctx context.Context, q string, args []any) (rows, error) {
	br, err := p.send(ctx, q, args)
	if err != nil {
		return nil, err
	}
	if br == nil {
		r, err := p.conn.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		return &pgRows{Rows: r}, nil
	}
	r, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &pgRows{Rows: r, batch: br}, nil
}

func (p *pgTx) queryRow(ctx context.Context, q string, args []any) row {
	r, err := p.query(ctx, q, args)
	return pgRow{r, err}
}

// commit sends COMMIT, with the writes still waiting; an aborted
// transaction (which PostgreSQL answers COMMIT with ROLLBACK for) is an
// error.
func (p *pgTx) commit(ctx context.Context) error {
	if !p.begun && len(p.pending) == 0 {
		return nil
	}
	if slices.ContainsFunc(p.pending, func(w pendingStmt) bool { return w.read != nil }) {
		// A read's error must fail the transaction, and reading no row is
		// no error to the server: the read is answered before COMMIT goes.
		if _, err := p.execTag(ctx, "SELECT 1", nil); err != nil {
			p.rollback(ctx)
			return err
		}
	}
	tag, err := p.execTag(ctx, "COMMIT", nil)
	if err != nil {
		// A write sent with COMMIT failed, and the server skipped COMMIT:
		// the transaction is still open (aborted).
		p.rollback(ctx)
		return err
	}
	if tag.String() != "COMMIT" {
		return errors.New("the transaction was aborted and rolled back")
	}
	return nil
}

func (p *pgTx) rollback(ctx context.Context) {
	p.pending = nil
	if p.begun && !p.conn.IsClosed() {
		p.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
}

// pgResult is a command tag as database/sql's result.
type pgResult pgconn.CommandTag

func (r pgResult) RowsAffected() (int64, error) { return pgconn.CommandTag(r).RowsAffected(), nil }

func (pgResult) LastInsertId() (int64, error) {
	return 0, errors.New("PostgreSQL has no last insert id: use RETURNING")
}

// pgRows are pgx's rows as the store's; those of a transaction's first
// statement close the batch that carried its BEGIN.
type pgRows struct {
	pgx.Rows
	batch pgx.BatchResults
}

func (r *pgRows) Close() error {
	r.Rows.Close()
	err := r.Rows.Err()
	if r.batch != nil {
		err = errors.Join(err, r.batch.Close())
		r.batch = nil
	}
	return err
}

// Scan scans as database/sql does where the two differ: a flag stored as
// an integer (both schemas keep them so) scans into a *bool.
func (r *pgRows) Scan(dest ...any) error {
	copied := false
	for i, d := range dest {
		if b, ok := d.(*bool); ok {
			if !copied {
				dest, copied = append([]any(nil), dest...), true
			}
			dest[i] = (*intBool)(b)
		}
	}
	return r.Rows.Scan(dest...)
}

// intBool is a *bool that scans an integer flag.
type intBool bool

func (b *intBool) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*b = v != 0
	case bool:
		*b = intBool(v)
	default:
		return fmt.Errorf("cannot scan %T into a bool", src)
	}
	return nil
}

// pgRow scans the first of its rows, like database/sql's Row.
type pgRow struct {
	r   rows
	err error
}

func (r pgRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	found := r.r.Next()
	var err error
	if found {
		err = r.r.Scan(dest...)
	}
	if cerr := r.r.Close(); err == nil {
		err = cerr
	}
	if err == nil && !found {
		err = sql.ErrNoRows
	}
	return err
}
