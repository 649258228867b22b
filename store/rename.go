package store

import (
	"context"
	"encoding/json"
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
	if err := t.renameApprovers(ctx, was, now); err != nil {
		return err
	}
	rows, err := t.query(ctx, `SELECT id, approval FROM jobs WHERE approval <> '' AND approved_at IS NULL AND rejected_at IS NULL
		AND status IN (?, ?)`, lathe.StatusPending, lathe.StatusWaiting)
	if err != nil {
		return fmt.Errorf("gates naming user %q: %w", was, err)
	}
	changed := map[int64]string{}
	for rows.Next() {
		var id int64
		var text string
		var g lathe.Approval
		if err := rows.Scan(&id, &text); err != nil {
			rows.Close()
			return fmt.Errorf("gates naming user %q: %w", was, err)
		}
		if err := fromJSON(text, &g); err != nil {
			rows.Close()
			return fmt.Errorf("gate of job %d: %w", id, err)
		}
		hit := g.NotBy == was || slices.Contains(g.From, was)
		if g.NotBy == was {
			g.NotBy = now
		}
		for i, who := range g.From {
			if who == was {
				g.From[i] = now
			}
		}
		if hit {
			changed[id] = jsonObject(&g)
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for id, text := range changed {
		if _, err := t.exec(ctx, `UPDATE jobs SET approval = ? WHERE id = ?`, text, id); err != nil {
			return fmt.Errorf("gate of job %d: %w", id, err)
		}
	}
	return nil
}

// renameApprovers carries a rename into environments' approvers.
func (t *txn) renameApprovers(ctx context.Context, was, now string) error {
	rows, err := t.query(ctx, `SELECT id, approvers FROM environments`)
	if err != nil {
		return fmt.Errorf("environments' approvers: %w", err)
	}
	changed := map[int64]string{}
	for rows.Next() {
		var id int64
		var text string
		var approvers []string
		if err := rows.Scan(&id, &text); err != nil {
			rows.Close()
			return fmt.Errorf("environments' approvers: %w", err)
		}
		if err := fromJSON(text, &approvers); err != nil {
			rows.Close()
			return fmt.Errorf("approvers of environment %d: %w", id, err)
		}
		if slices.Contains(approvers, "user:"+was) {
			for i, a := range approvers {
				if a == "user:"+was {
					approvers[i] = "user:" + now
				}
			}
			b, _ := json.Marshal(approvers)
			changed[id] = string(b)
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for id, text := range changed {
		if _, err := t.exec(ctx, `UPDATE environments SET approvers = ? WHERE id = ?`, text, id); err != nil {
			return fmt.Errorf("approvers of environment %d: %w", id, err)
		}
	}
	return nil
}
