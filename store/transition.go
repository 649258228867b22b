package store

import (
	"context"
	"errors"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// statusTables maps each entity with a status column to its table.
var statusTables = map[engine.Entity]string{
	engine.Attempt: "attempts",
	engine.Job:     "jobs",
	engine.Stage:   "stages",
	engine.Run:     "runs",
}

// setStatus is the one way a status is written: the engine's transition
// table must allow from → to (an illegal change is logged, counted and
// refused), and the row must still be in from when the update runs (an
// optimistic check: a writer that raced this one and won makes it a
// conflict, never a silent overwrite). set adds more assignments
// (", col = ?, …") with their args.
func (t *txn) setStatus(ctx context.Context, e engine.Entity, id int64, from, to lathe.Status, set string, args ...any) error {
	return t.setStatusIf(ctx, e, id, from, to, ``, nil, set, args...)
}

// errStale says a row was no longer as read when its status was written.
var errStale = fmt.Errorf("it changed meanwhile: %w", lathe.ErrConflict)

// stale reports whether err is setStatus finding the row changed meanwhile.
func stale(err error) bool { return errors.Is(err, errStale) }

// setStatusIf is setStatus with more conditions on the row (" AND …", with
// whereArgs) checked in the same update, such as a lease still expired.
func (t *txn) setStatusIf(ctx context.Context, e engine.Entity, id int64, from, to lathe.Status,
	where string, whereArgs []any, set string, args ...any) error {
	return t.setStatuses(ctx, e, []int64{id}, from, to, where, whereArgs, set, args...)
}

// setStatusLater is setStatus whose update, on PostgreSQL, waits to be sent
// with the transaction's next statement (see write), sharing its round
// trip: a row no longer in from then fails that statement with errStale
// (stale says so), and the transaction must not go on. A job that enters
// the queue is never written later (its wake-up reads the update's rows).
func (t *txn) setStatusLater(ctx context.Context, e engine.Entity, id int64, from, to lathe.Status, set string, args ...any) error {
	if to == lathe.StatusQueued {
		return t.setStatus(ctx, e, id, from, to, set, args...)
	}
	return t.setStatusesHow(ctx, true, e, []int64{id}, from, to, ``, nil, set, args...)
}

// statusesPerUpdate bounds the rows one setStatuses statement writes.
const statusesPerUpdate = 64

// setStatuses is setStatusIf for the rows ids, all in from, a few dozen
// per statement (a run of a thousand jobs queues them in 16). Every row
// must still be in from, or none changes (the transaction fails).
func (t *txn) setStatuses(ctx context.Context, e engine.Entity, ids []int64, from, to lathe.Status,
	where string, whereArgs []any, set string, args ...any) error {
	return t.setStatusesHow(ctx, false, e, ids, from, to, where, whereArgs, set, args...)
}

// setStatusesHow is setStatuses, its updates sent later when later says so
// (see setStatusLater).
func (t *txn) setStatusesHow(ctx context.Context, later bool, e engine.Entity, ids []int64, from, to lathe.Status,
	where string, whereArgs []any, set string, args ...any) error {
	for _, id := range ids {
		if err := engine.Check(e, id, from, to); err != nil {
			return err
		}
		if e == engine.Run {
			t.forgetRunHead(id)
		}
	}
	table, ok := statusTables[e]
	if !ok {
		return fmt.Errorf("%s %v: no status column", e, ids)
	}
	for len(ids) > 0 {
		n := min(len(ids), statusesPerUpdate)
		if err := t.updateStatuses(ctx, later, e, table, ids[:n], from, to, where, whereArgs, set, args); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// updateStatuses writes one setStatuses statement.
func (t *txn) updateStatuses(ctx context.Context, later bool, e engine.Entity, table string, ids []int64, from, to lathe.Status,
	where string, whereArgs []any, set string, args []any) error {
	all := make([]any, 0, len(args)+len(ids)+len(whereArgs)+2)
	all = append(append(all, to), args...)
	for _, id := range ids {
		all = append(all, id)
	}
	all = append(append(all, from), whereArgs...)
	which := `id = ?`
	if len(ids) > 1 {
		which = `id IN (` + placeholders(len(ids)) + `)`
	}
	q := `UPDATE ` + table + ` SET status = ?` + set + ` WHERE ` + which + ` AND status = ?` + where
	what := func() string {
		if len(ids) == 1 {
			return fmt.Sprintf("%s %d to %s", e, ids[0], to)
		}
		return fmt.Sprintf("%ss %v to %s", e, ids, to)
	}
	if e == engine.Job && to == lathe.StatusQueued {
		// Every job that enters the queue wakes, once this commits, the
		// waiting claims of the agents that may run it (and only those).
		rows, err := t.query(ctx, q+` RETURNING runs_on`, all...)
		if err != nil {
			return fmt.Errorf("%s: %w", what(), err)
		}
		n := 0
		for rows.Next() {
			var runsOn string
			if err := rows.Scan(&runsOn); err != nil {
				rows.Close()
				return fmt.Errorf("%s: %w", what(), err)
			}
			t.queued(runsOn)
			n++
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("%s: %w", what(), err)
		}
		if n < len(ids) {
			return fmt.Errorf("%s: %w", what(), errStale)
		}
	} else if later {
		if err := t.writeAffecting(ctx, int64(len(ids)), what(), q, all...); err != nil {
			return err
		}
	} else {
		res, err := t.exec(ctx, q, all...)
		if err != nil {
			return fmt.Errorf("%s: %w", what(), err)
		}
		if err := affected(res, int64(len(ids)), what()); err != nil {
			return err
		}
	}
	for _, id := range ids {
		t.noteTransition(e, id, from, to)
	}
	return nil
}
