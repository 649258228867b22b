package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

const agentCols = `g.id, g.name, g.labels, g.authorized, g.disabled, g.host, g.created_at, g.last_seen`

// liveAgents is the condition that leaves out deleted agents' tombstones.
const liveAgents = `g.deleted_at IS NULL`

func (s *Store) scanAgent(row interface{ Scan(...any) error }) (*lathe.Agent, error) {
	var a lathe.Agent
	var labels, host string
	var authorized, disabled int
	var created int64
	var seen sql.NullInt64
	if err := row.Scan(&a.ID, &a.Name, &labels, &authorized, &disabled, &host, &created, &seen); err != nil {
		return nil, err
	}
	if err := fromJSON(labels, &a.Labels); err != nil {
		return nil, fmt.Errorf("agent %d labels: %w", a.ID, err)
	}
	if err := fromJSON(host, &a.Host); err != nil {
		return nil, fmt.Errorf("agent %d host: %w", a.ID, err)
	}
	a.Authorized, a.Disabled = authorized != 0, disabled != 0
	a.CreatedAt, a.LastSeen = fromMicros(created), fromNullMicros(seen)
	a.Online = a.LastSeen != nil && s.now().Sub(*a.LastSeen) < lathe.AgentOnlineWindow
	a.Groups = []string{}
	return &a, nil
}

// agentsWhere lists agents matching cond (with their groups), in the order given.
func (s *Store) agentsWhere(ctx context.Context, cond, order string, args ...any) ([]*lathe.Agent, error) {
	rows, err := s.query(ctx, `SELECT `+agentCols+` FROM agents g WHERE `+liveAgents+` AND (`+cond+`) `+order, args...)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	out := []*lathe.Agent{}
	for rows.Next() {
		a, err := s.scanAgent(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list agents: %w", err)
		}
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.fillGroups(ctx, out)
}

// fillGroups sets the Groups of each agent, by name.
func (s *Store) fillGroups(ctx context.Context, agents []*lathe.Agent) error {
	if len(agents) == 0 {
		return nil
	}
	ids := make([]any, len(agents))
	byID := map[int64]*lathe.Agent{}
	for i, a := range agents {
		ids[i], byID[a.ID] = a.ID, a
	}
	rows, err := s.query(ctx, `SELECT m.agent_id, gr.name FROM agent_group_members m JOIN agent_groups gr ON gr.id = m.group_id
		WHERE m.agent_id IN (`+placeholders(len(ids))+`) ORDER BY gr.name`, ids...)
	if err != nil {
		return fmt.Errorf("agent groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return fmt.Errorf("agent groups: %w", err)
		}
		byID[id].Groups = append(byID[id].Groups, name)
	}
	return rows.Err()
}

// PutAgent creates the agent named a.Name, or updates its labels, host and
// credential if it exists, and fills in a.ID, a.Authorized and a.Disabled.
// It is how a server registers its embedded agents: new ones are
// authorized; an admin's disabling of an existing one survives restarts.
func (s *Store) PutAgent(ctx context.Context, a *lathe.Agent, tokenHash string) error {
	return s.tx(ctx, func(t *txn) error {
		a.CreatedAt = t.now
		var authorized, disabled int
		err := t.queryRow(ctx, `INSERT INTO agents (name, token_hash, labels, host, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, labels = excluded.labels, host = excluded.host
			RETURNING id, authorized, disabled`, a.Name, tokenHash, jsonText(orNone(a.Labels)), jsonText(a.Host), micros(t.now)).
			Scan(&a.ID, &authorized, &disabled)
		if err != nil {
			return fmt.Errorf("put agent %q: %w", a.Name, err)
		}
		a.Authorized, a.Disabled = authorized != 0, disabled != 0
		t.afterCommit = append(t.afterCommit, func(s *Store) { s.forgetAgent(a.ID) })
		return nil
	})
}

// agentByToken is AgentByToken read from the database.
func (s *Store) agentByToken(ctx context.Context, tokenHash string) (*lathe.Agent, error) {
	as, err := s.agentsWhere(ctx, `g.token_hash = ?`, ``, tokenHash)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("agent with the given credential: %w", lathe.ErrNotFound)
	}
	a := as[0]
	a.Labels = a.EffectiveLabels()
	return a, nil
}

// Agent returns an agent by name, or by ID when key is all digits.
func (s *Store) Agent(ctx context.Context, key string) (*lathe.Agent, error) {
	return s.VisibleAgent(ctx, key, nil)
}

// VisibleAgent is Agent for a viewer: an agent that never ran a job of a
// project v may read is not found.
func (s *Store) VisibleAgent(ctx context.Context, key string, v *Viewer) (*lathe.Agent, error) {
	cond, args := `g.name = ?`, []any{key}
	if id, err := strconv.ParseInt(key, 10, 64); err == nil {
		cond, args = `g.id = ?`, []any{id}
	}
	if used, uargs := v.agentsUsed(); used != "" {
		cond, args = cond+` AND `+used, append(args, uargs...)
	}
	as, err := s.agentsWhere(ctx, cond, ``, args...)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("agent %s: %w", key, lathe.ErrNotFound)
	}
	return as[0], nil
}

// SetAgentHost records the host info an agent reported.
func (s *Store) SetAgentHost(ctx context.Context, id int64, h lathe.HostInfo) error {
	return s.tx(ctx, func(t *txn) error {
		t.afterCommit = append(t.afterCommit, func(s *Store) { s.forgetAgent(id) })
		_, err := t.exec(ctx, `UPDATE agents SET host = ?, last_seen = ? WHERE id = ?`, jsonText(h), micros(t.now), id)
		return err
	})
}

// AgentFilter selects agents to list. Nil booleans do not filter.
type AgentFilter struct {
	Authorized *bool
	Disabled   *bool
	// Online keeps agents heard from within lathe.AgentOnlineWindow (true) or not (false).
	Online *bool
	// Group keeps members of the named group.
	Group string
	// Label keeps agents carrying the label (an own label, or group:NAME).
	Label string
	// Viewer keeps the agents that ran jobs of projects it may read (nil: all).
	Viewer *Viewer
	Before int64
	Limit  int
}

// Agents lists agents newest first, a page at a time.
func (s *Store) Agents(ctx context.Context, f AgentFilter) (lathe.Page[*lathe.Agent], error) {
	if f.Limit < 1 {
		return lathe.Page[*lathe.Agent]{}, fmt.Errorf("list agents: limit %d: %w", f.Limit, lathe.ErrInvalid)
	}
	where := []string{"1 = 1"}
	var args []any
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	flag := func(col string, v *bool) {
		if v != nil {
			add(col+" = ?", boolInt(*v))
		}
	}
	flag("g.authorized", f.Authorized)
	flag("g.disabled", f.Disabled)
	if f.Online != nil {
		since := micros(s.now().Add(-lathe.AgentOnlineWindow))
		if *f.Online {
			add("g.last_seen > ?", since)
		} else {
			add("(g.last_seen IS NULL OR g.last_seen <= ?)", since)
		}
	}
	if f.Group != "" {
		add(`g.id IN (SELECT m.agent_id FROM agent_group_members m JOIN agent_groups gr ON gr.id = m.group_id WHERE gr.name = ?)`, f.Group)
	}
	if f.Before > 0 {
		add("g.id < ?", f.Before)
	}
	if used, uargs := f.Viewer.agentsUsed(); used != "" {
		add(used, uargs...)
	}
	// Labels are a JSON list; matching them in Go keeps one query for both
	// engines. The label filter therefore reads pages until it fills one.
	var items []*lathe.Agent
	for {
		batch, err := s.agentsWhere(ctx, strings.Join(where, " AND "), `ORDER BY g.id DESC LIMIT ?`, append(args, f.Limit+1)...)
		if err != nil {
			return lathe.Page[*lathe.Agent]{}, err
		}
		for _, a := range batch {
			if f.Label == "" || engine.Eligible(a.EffectiveLabels(), []string{f.Label}) {
				items = append(items, a)
			}
		}
		if f.Label == "" || len(items) > f.Limit || len(batch) <= f.Limit {
			break
		}
		// Continue below the last agent read.
		where, args = append(where, "g.id < ?"), append(args, batch[len(batch)-1].ID)
	}
	return page(items, f.Limit, func(a *lathe.Agent) int64 { return a.ID }), nil
}

// AgentChange is an update to an agent; nil fields keep their value.
type AgentChange struct {
	Name       *string
	Labels     *[]string
	Authorized *bool
	Disabled   *bool
}

// UpdateAgents applies changes to agents (by ID) in one transaction: all or
// none. Enabling or authorizing an agent wakes its waiting claim.
func (s *Store) UpdateAgents(ctx context.Context, changes map[int64]AgentChange) error {
	return s.tx(ctx, func(t *txn) error {
		for id, c := range changes {
			var set []string
			var args []any
			if c.Name != nil {
				var n int
				if err := t.queryRow(ctx, `SELECT count(*) FROM agents WHERE name = ? AND id <> ?`, *c.Name, id).Scan(&n); err != nil {
					return err
				}
				if n > 0 {
					return fmt.Errorf("agent name %q is taken: %w", *c.Name, lathe.ErrConflict)
				}
				set, args = append(set, "name = ?"), append(args, *c.Name)
			}
			if c.Labels != nil {
				set, args = append(set, "labels = ?"), append(args, jsonText(orNone(*c.Labels)))
			}
			if c.Authorized != nil {
				set, args = append(set, "authorized = ?"), append(args, boolInt(*c.Authorized))
			}
			if c.Disabled != nil {
				set, args = append(set, "disabled = ?"), append(args, boolInt(*c.Disabled))
			}
			if len(set) == 0 {
				continue
			}
			res, err := t.exec(ctx, `UPDATE agents SET `+strings.Join(set, ", ")+` WHERE id = ? AND deleted_at IS NULL`, append(args, id)...)
			if uniqueViolation(err) {
				return fmt.Errorf("agent name %q is taken: %w", *c.Name, lathe.ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("update agent %d: %w", id, err)
			}
			if err := mustAffect(res, "agent", id); err != nil {
				return err
			}
		}
		ids := make([]int64, 0, len(changes))
		for id := range changes {
			ids = append(ids, id)
		}
		t.afterCommit = append(t.afterCommit, agentChanged(ids...))
		return nil
	})
}

// DeleteAgent deletes an agent and its credential. An agent running an
// attempt is refused (ErrConflict): disable it first and let the job end, or
// cancel the job. An agent that ran attempts before stays as a tombstone
// (renamed, without credential, left out of every list) so their history
// still names it; one that never ran anything is removed.
func (s *Store) DeleteAgent(ctx context.Context, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		t.afterCommit = append(t.afterCommit, func(s *Store) { s.forgetAgent(id) })
		var name string
		if err := t.queryRow(ctx, `SELECT name FROM agents WHERE id = ? AND deleted_at IS NULL`, id).Scan(&name); err != nil {
			return notFound(err, "agent", id)
		}
		var running, ran int
		if err := t.queryRow(ctx, `SELECT count(*) FROM attempts WHERE agent_id = ? AND status = ?`, id, lathe.StatusRunning).Scan(&running); err != nil {
			return err
		}
		if running > 0 {
			return fmt.Errorf("agent %q is running a job; disable it and wait for the job to end (or cancel the job), then delete it: %w", name, lathe.ErrConflict)
		}
		if err := t.queryRow(ctx, `SELECT count(*) FROM attempts WHERE agent_id = ?`, id).Scan(&ran); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM agent_group_members WHERE agent_id = ?`, id); err != nil {
			return err
		}
		if ran == 0 {
			_, err := t.exec(ctx, `DELETE FROM agents WHERE id = ?`, id)
			return err
		}
		tomb := fmt.Sprintf("%s (deleted #%d)", name, id)
		_, err := t.exec(ctx, `UPDATE agents SET deleted_at = ?, name = ?, token_hash = ?, disabled = 1 WHERE id = ?`,
			micros(t.now), tomb, "deleted:"+strconv.FormatInt(id, 10), id)
		return err
	})
}

// AgentAttempts lists the attempts an agent ran, newest first, a page at a time.
func (s *Store) AgentAttempts(ctx context.Context, agentID, before int64, limit int) (lathe.Page[*lathe.Attempt], error) {
	if limit < 1 {
		return lathe.Page[*lathe.Attempt]{}, fmt.Errorf("list attempts: limit %d: %w", limit, lathe.ErrInvalid)
	}
	cond, args := `a.agent_id = ?`, []any{agentID}
	if before > 0 {
		cond, args = cond+` AND a.id < ?`, append(args, before)
	}
	rows, err := s.query(ctx, `SELECT `+attemptCols+` FROM attempts a JOIN agents g ON g.id = a.agent_id WHERE `+cond+
		` ORDER BY a.id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.Attempt]{}, fmt.Errorf("list attempts of agent %d: %w", agentID, err)
	}
	defer rows.Close()
	var items []*lathe.Attempt
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return lathe.Page[*lathe.Attempt]{}, fmt.Errorf("list attempts of agent %d: %w", agentID, err)
		}
		items = append(items, a)
	}
	return page(items, limit, func(a *lathe.Attempt) int64 { return a.ID }), rows.Err()
}

// nullInt stores 0 as NULL: an optional number left out.
func nullInt(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: n != 0} }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// orNone stores a nil list as [] rather than null.
func orNone(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
