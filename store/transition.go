package store

import (
	"context"
	"database/sql"
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
	if err := engine.Check(e, id, from, to); err != nil {
		return err
	}
	if e == engine.Run {
		t.forgetRunHead(id)
	}
	table, ok := statusTables[e]
	if !ok {
		return fmt.Errorf("%s %d: no status column", e, id)
	}
	all := make([]any, 0, len(args)+len(whereArgs)+3)
	all = append(append(append(append(all, to), args...), id, from), whereArgs...)
	q := `UPDATE ` + table + ` SET status = ?` + set + ` WHERE id = ? AND status = ?` + where
	if e == engine.Job && to == lathe.StatusQueued {
		// Every job that enters the queue wakes, once this commits, the
		// waiting claims of the agents that may run it (and only those).
		var runsOn string
		err := t.queryRow(ctx, q+` RETURNING runs_on`, all...).Scan(&runsOn)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s %d to %s: %w", e, id, to, errStale)
		}
		if err != nil {
			return fmt.Errorf("%s %d to %s: %w", e, id, to, err)
		}
		t.queued(runsOn)
		t.noteTransition(e, id, from, to)
		return nil
	}
	res, err := t.exec(ctx, q, all...)
	if err != nil {
		return fmt.Errorf("%s %d to %s: %w", e, id, to, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s %d to %s: %w", e, id, to, errStale)
	}
	t.noteTransition(e, id, from, to)
	return nil
}
