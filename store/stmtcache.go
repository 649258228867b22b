package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache holds the statements prepared on one *sql.DB, by their SQL as
// written (before rebind). A statement is prepared once and then runs
// without being parsed again: database/sql prepares it anew only on a
// connection that has not seen it, and a transaction borrows it with
// Tx.StmtContext. It is bounded: queries built with a varying number of
// placeholders run unprepared once it is full.
//
// It pays on SQLite, where modernc.org/sqlite compiles every statement it
// is handed, and is left off on PostgreSQL, where pgx's stdlib driver
// already caches each statement per connection (see Open and the
// throughput figures in the commit that added it).
type stmtCache struct {
	db *sql.DB
	d  dialect
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

// maxStmts bounds a cache; the store has a few hundred distinct statements.
const maxStmts = 1024

func newStmtCache(db *sql.DB, d dialect) *stmtCache {
	return &stmtCache{db: db, d: d, m: map[string]*sql.Stmt{}}
}

// get returns the prepared statement of q, or nil.
func (c *stmtCache) get(q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	st := c.m[q]
	c.mu.RUnlock()
	return st
}

// prepare returns the prepared statement of q, preparing it if need be;
// nil when it cannot (the query then runs unprepared). It takes a
// connection of c.db: never call it while holding the only one (the SQLite
// writer's transaction), see txn.stmt.
func (c *stmtCache) prepare(ctx context.Context, q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	if st := c.get(q); st != nil {
		return st
	}
	c.mu.RLock()
	full := len(c.m) >= maxStmts
	c.mu.RUnlock()
	if full {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, c.d.rebind(q))
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.m[q]; prev != nil {
		st.Close()
		return prev
	}
	if len(c.m) >= maxStmts {
		st.Close()
		return nil
	}
	c.m[q] = st
	return st
}

// close closes the cached statements.
func (c *stmtCache) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for q, st := range c.m {
		err = errors.Join(err, st.Close())
		delete(c.m, q)
	}
	return err
}

// stmt returns q's cached statement bound to the transaction, or nil. A
// statement not yet cached is noted and prepared once the transaction has
// ended (and given its connection back): on SQLite the writer has only the
// one connection the transaction holds.
func (t *txn) stmt(ctx context.Context, q string) *sql.Stmt {
	if t.stmts == nil {
		return nil
	}
	st := t.stmts.get(q)
	if st == nil {
		t.unprepared = append(t.unprepared, q)
		return nil
	}
	return t.tx.StmtContext(ctx, st)
}

// prepareLater prepares the statements the transaction ran unprepared.
func (t *txn) prepareLater(ctx context.Context) {
	for _, q := range t.unprepared {
		t.stmts.prepare(context.WithoutCancel(ctx), q)
	}
}
