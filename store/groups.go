package store

import (
	"context"
	"fmt"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
)

const groupCols = `gr.id, gr.name, gr.description, gr.provider, gr.created_at, gr.updated_at,
	(SELECT count(*) FROM agent_group_members m WHERE m.group_id = gr.id)`

func scanGroup(row interface{ Scan(...any) error }) (*lathe.AgentGroup, error) {
	var g lathe.AgentGroup
	var created, updated int64
	var provider string
	if err := row.Scan(&g.ID, &g.Name, &g.Description, &provider, &created, &updated, &g.AgentsCount); err != nil {
		return nil, err
	}
	if provider != "" {
		g.Provider = &lathe.AgentProvider{}
		if err := fromJSON(provider, g.Provider); err != nil {
			return nil, fmt.Errorf("agent group %d: provider: %w", g.ID, err)
		}
	}
	g.CreatedAt, g.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &g, nil
}

// CreateGroup stores a new agent group; its name must be unique.
func (s *Store) CreateGroup(ctx context.Context, g *lathe.AgentGroup) error {
	return s.tx(ctx, func(t *txn) error {
		var n int
		if err := t.queryRow(ctx, `SELECT count(*) FROM agent_groups WHERE name = ?`, g.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("agent group %q already exists: %w", g.Name, lathe.ErrConflict)
		}
		g.CreatedAt, g.UpdatedAt = t.now, t.now
		err := t.queryRow(ctx, `INSERT INTO agent_groups (name, description, provider, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			g.Name, g.Description, providerText(g.Provider), micros(t.now), micros(t.now)).Scan(&g.ID)
		if uniqueViolation(err) {
			return fmt.Errorf("agent group %q already exists: %w", g.Name, lathe.ErrConflict)
		}
		return err
	})
}

// Group returns an agent group by name, or by ID when key is all digits.
func (s *Store) Group(ctx context.Context, key string) (*lathe.AgentGroup, error) {
	q, arg := `SELECT `+groupCols+` FROM agent_groups gr WHERE gr.name = ?`, any(key)
	if id, err := strconv.ParseInt(key, 10, 64); err == nil {
		q, arg = `SELECT `+groupCols+` FROM agent_groups gr WHERE gr.id = ?`, id
	}
	g, err := scanGroup(s.queryRow(ctx, q, arg))
	if err != nil {
		return nil, notFound(err, "agent group", key)
	}
	return g, nil
}

// Groups lists agent groups newest first, a page at a time.
func (s *Store) Groups(ctx context.Context, before int64, limit int) (lathe.Page[*lathe.AgentGroup], error) {
	if limit < 1 {
		return lathe.Page[*lathe.AgentGroup]{}, fmt.Errorf("list agent groups: limit %d: %w", limit, lathe.ErrInvalid)
	}
	var where []string
	var args []any
	if before > 0 {
		where, args = append(where, "gr.id < ?"), append(args, before)
	}
	rows, err := s.query(ctx, `SELECT `+groupCols+` FROM agent_groups gr`+whereClause(where)+` ORDER BY gr.id DESC LIMIT ?`,
		append(args, limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.AgentGroup]{}, fmt.Errorf("list agent groups: %w", err)
	}
	defer rows.Close()
	var items []*lathe.AgentGroup
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return lathe.Page[*lathe.AgentGroup]{}, fmt.Errorf("list agent groups: %w", err)
		}
		items = append(items, g)
	}
	return page(items, limit, func(g *lathe.AgentGroup) int64 { return g.ID }), rows.Err()
}

// UpdateGroup stores a group's name and description. Renaming a group
// changes its members' implicit label (group:NAME) for their next claim.
func (s *Store) UpdateGroup(ctx context.Context, g *lathe.AgentGroup) error {
	return s.tx(ctx, func(t *txn) error {
		var n int
		if err := t.queryRow(ctx, `SELECT count(*) FROM agent_groups WHERE name = ? AND id <> ?`, g.Name, g.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("agent group %q already exists: %w", g.Name, lathe.ErrConflict)
		}
		g.UpdatedAt = t.now
		res, err := t.exec(ctx, `UPDATE agent_groups SET name = ?, description = ?, provider = ?, updated_at = ? WHERE id = ?`,
			g.Name, g.Description, providerText(g.Provider), micros(t.now), g.ID)
		if uniqueViolation(err) {
			return fmt.Errorf("agent group %q already exists: %w", g.Name, lathe.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("update agent group %d: %w", g.ID, err)
		}
		if err := mustAffect(res, "agent group", g.ID); err != nil {
			return err
		}
		t.afterCommit = append(t.afterCommit, agentsChanged)
		return nil
	})
}

// DeleteGroup deletes an agent group; its agents stay, without its label.
func (s *Store) DeleteGroup(ctx context.Context, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		var n int
		if err := t.queryRow(ctx, `SELECT count(*) FROM agent_instances WHERE group_id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("agent group %d has %d agent instances: remove its provider and let them stop first: %w", id, n, lathe.ErrConflict)
		}
		if _, err := t.exec(ctx, `DELETE FROM agent_group_members WHERE group_id = ?`, id); err != nil {
			return err
		}
		res, err := t.exec(ctx, `DELETE FROM agent_groups WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete agent group %d: %w", id, err)
		}
		return mustAffect(res, "agent group", id)
	})
}

// SetGroupMembers adds (add=true) or removes agents from a group. Adding a
// member twice, or removing a non-member, changes nothing.
func (s *Store) SetGroupMembers(ctx context.Context, groupID int64, agentIDs []int64, add bool) error {
	return s.tx(ctx, func(t *txn) error {
		for _, id := range agentIDs {
			var n int
			if err := t.queryRow(ctx, `SELECT count(*) FROM agents WHERE id = ? AND deleted_at IS NULL`, id).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("agent %d: %w", id, lathe.ErrNotFound)
			}
			q := `DELETE FROM agent_group_members WHERE group_id = ? AND agent_id = ?`
			if add {
				q = `INSERT INTO agent_group_members (group_id, agent_id) VALUES (?, ?) ON CONFLICT DO NOTHING`
			}
			if _, err := t.exec(ctx, q, groupID, id); err != nil {
				return fmt.Errorf("group %d members: %w", groupID, err)
			}
		}
		if _, err := t.exec(ctx, `UPDATE agent_groups SET updated_at = ? WHERE id = ?`, micros(t.now), groupID); err != nil {
			return err
		}
		t.afterCommit = append(t.afterCommit, agentsChanged)
		return nil
	})
}

// providerText is a group's provider column: its JSON, or "" for none.
func providerText(p *lathe.AgentProvider) string {
	if p == nil {
		return ""
	}
	return jsonObject(p)
}
