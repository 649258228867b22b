package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

const agentCols = `id, name, labels, created_at, last_seen`

func scanAgent(row interface{ Scan(...any) error }) (*lathe.Agent, error) {
	var a lathe.Agent
	var labels string
	var created int64
	var seen sql.NullInt64
	if err := row.Scan(&a.ID, &a.Name, &labels, &created, &seen); err != nil {
		return nil, err
	}
	if err := fromJSON(labels, &a.Labels); err != nil {
		return nil, fmt.Errorf("agent %d labels: %w", a.ID, err)
	}
	a.CreatedAt, a.LastSeen = fromMicros(created), fromNullMicros(seen)
	return &a, nil
}

// PutAgent creates the agent named a.Name, or updates its labels and
// credential if it exists, and fills in a.ID.
func (s *Store) PutAgent(ctx context.Context, a *lathe.Agent, tokenHash string) error {
	return s.tx(ctx, func(t *txn) error {
		a.CreatedAt = t.now
		err := t.queryRow(ctx, `INSERT INTO agents (name, token_hash, labels, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, labels = excluded.labels
			RETURNING id`, a.Name, tokenHash, jsonText(a.Labels), micros(t.now)).Scan(&a.ID)
		if err != nil {
			return fmt.Errorf("put agent %q: %w", a.Name, err)
		}
		return nil
	})
}

// AgentByToken returns the agent whose credential hashes to tokenHash.
func (s *Store) AgentByToken(ctx context.Context, tokenHash string) (*lathe.Agent, error) {
	a, err := scanAgent(s.queryRow(ctx, `SELECT `+agentCols+` FROM agents WHERE token_hash = ?`, tokenHash))
	if err != nil {
		return nil, notFound(err, "agent", "credential")
	}
	return a, nil
}

// TouchAgent records that the agent was just heard from.
func (s *Store) TouchAgent(ctx context.Context, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `UPDATE agents SET last_seen = ? WHERE id = ?`, micros(t.now), id)
		return err
	})
}

// Agents lists all agents by name.
func (s *Store) Agents(ctx context.Context) ([]*lathe.Agent, error) {
	rows, err := s.query(ctx, `SELECT `+agentCols+` FROM agents ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Agent{}
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
