package store

import (
	"context"
	"fmt"
	"slices"

	lathe "github.com/lathe-ci/lathe"
)

// renameInGates carries a user's rename from was to now into what the
// server keeps naming users by name for gates: environments' approvers
// (user:NAME), and the gates still to be answered, whose approvers and
// whose second-person rule (the user who may not answer) name the user as
// it was called when the gate was made. Without it, a renamed user could
// answer the gate of a deployment they asked for, and a new user given the
// old name would answer gates meant for the renamed one.
func (t *txn) renameInGates(ctx context.Context, was, now string) error {
	if was == now {
		return nil
	}
	err := rewriteJSON(ctx, t, "environments' approvers", `SELECT id, approvers FROM environments`, nil,
		`UPDATE environments SET approvers = ? WHERE id = ?`, func(approvers *[]string) bool {
			return replaceAll(*approvers, "user:"+was, "user:"+now)
		})
	if err != nil {
		return err
	}
	return rewriteJSON(ctx, t, "unanswered gates",
		`SELECT id, approval FROM jobs WHERE approval <> '' AND approved_at IS NULL AND rejected_at IS NULL AND status IN (?, ?)`,
		[]any{lathe.StatusPending, lathe.StatusWaiting},
		`UPDATE jobs SET approval = ? WHERE id = ?`, func(g *lathe.Approval) bool {
			hit := replaceAll(g.From, was, now)
			if g.NotBy == was {
				g.NotBy, hit = now, true
			}
			return hit
		})
}

// replaceAll replaces every was in s by now, and reports whether any was.
func replaceAll(s []string, was, now string) bool {
	hit := slices.Contains(s, was)
	for i, v := range s {
		if v == was {
			s[i] = now
		}
	}
	return hit
}

// rewriteJSON reads the rows (id, JSON text) query selects, lets edit
// change each decoded value (reporting whether it did), and writes the
// changed ones back with update (its arguments: the text, then the id).
func rewriteJSON[T any](ctx context.Context, t *txn, what, query string, args []any, update string, edit func(*T) bool) error {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	changed := map[int64]string{}
	for rows.Next() {
		var id int64
		var text string
		var v T
		if err := rows.Scan(&id, &text); err != nil {
			rows.Close()
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := fromJSON(text, &v); err != nil {
			rows.Close()
			return fmt.Errorf("%s, row %d: %w", what, id, err)
		}
		if edit(&v) {
			changed[id] = jsonObject(&v)
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for id, text := range changed {
		if _, err := t.exec(ctx, update, text, id); err != nil {
			return fmt.Errorf("%s, row %d: %w", what, id, err)
		}
	}
	return nil
}
