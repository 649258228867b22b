package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// An instance's stored state is starting, stopping or failed; ready and
// busy are read from the agent of its name: busy while that agent runs an
// attempt, ready once it has registered and runs none.
const instanceQuery = `SELECT i.id, gr.name, i.name, i.state, i.handle, i.error, i.provider, i.created_at, i.updated_at, g.created_at,
	(SELECT max(a.job_id) FROM attempts a WHERE a.agent_id = g.id AND a.status = 'running'),
	(SELECT count(*) FROM attempts a WHERE a.agent_id = g.id),
	(SELECT max(a.finished_at) FROM attempts a WHERE a.agent_id = g.id)
	FROM agent_instances i JOIN agent_groups gr ON gr.id = i.group_id
	LEFT JOIN agents g ON g.name = i.name AND g.deleted_at IS NULL`

func scanInstance(row interface{ Scan(...any) error }) (*lathe.AgentInstance, error) {
	var in lathe.AgentInstance
	var created, updated int64
	var registered, job, finished sql.NullInt64
	var provider string
	if err := row.Scan(&in.ID, &in.Group, &in.Name, &in.State, &in.Handle, &in.Error, &provider, &created, &updated,
		&registered, &job, &in.Ran, &finished); err != nil {
		return nil, err
	}
	if provider != "" {
		in.StartedBy = &lathe.AgentProvider{}
		if err := fromJSON(provider, in.StartedBy); err != nil {
			return nil, fmt.Errorf("agent instance %d: provider: %w", in.ID, err)
		}
	}
	in.CreatedAt, in.UpdatedAt = fromMicros(created), fromMicros(updated)
	if in.State == lathe.InstanceStarting && registered.Valid {
		in.State = lathe.InstanceReady
		idle := registered.Int64
		if finished.Valid && finished.Int64 > idle {
			idle = finished.Int64
		}
		t := fromMicros(idle)
		in.IdleSince = &t
		if job.Valid {
			in.State, in.IdleSince, in.Job = lathe.InstanceBusy, nil, &job.Int64
		}
	}
	return &in, nil
}

// Instances lists the agent instances of a group, oldest first.
func (s *Store) Instances(ctx context.Context, groupID int64) ([]*lathe.AgentInstance, error) {
	rows, err := s.query(ctx, instanceQuery+` WHERE i.group_id = ? ORDER BY i.id`, groupID)
	if err != nil {
		return nil, fmt.Errorf("list agent instances of group %d: %w", groupID, err)
	}
	defer rows.Close()
	items := []*lathe.AgentInstance{}
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return nil, fmt.Errorf("list agent instances of group %d: %w", groupID, err)
		}
		items = append(items, in)
	}
	return items, rows.Err()
}

// AddInstance records a new instance of a group, state starting, before
// its provider is asked to start it, unless the group already has max
// instances that are not failed (ErrConflict): what is recorded counts,
// so no restart of the server can start more than max.
func (s *Store) AddInstance(ctx context.Context, groupID int64, name string, max int) (*lathe.AgentInstance, error) {
	return s.AddInstanceOf(ctx, groupID, name, max, nil)
}

// AddInstanceOf is AddInstance recording p, the provider asked to start
// the instance, which is the one to stop it even once the group's
// provider is removed or replaced.
func (s *Store) AddInstanceOf(ctx context.Context, groupID int64, name string, max int, p *lathe.AgentProvider) (*lathe.AgentInstance, error) {
	var id int64
	err := s.tx(ctx, func(t *txn) error {
		// Serialize the instances of one group: the count and the insert
		// are one decision.
		if _, err := t.exec(ctx, `UPDATE agent_groups SET updated_at = updated_at WHERE id = ?`, groupID); err != nil {
			return err
		}
		var n int
		if err := t.queryRow(ctx, `SELECT count(*) FROM agent_instances WHERE group_id = ? AND state <> ?`,
			groupID, lathe.InstanceFailed).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return fmt.Errorf("agent group %d has %d instances, its max: %w", groupID, n, lathe.ErrConflict)
		}
		return t.queryRow(ctx, `INSERT INTO agent_instances (group_id, name, state, provider, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			groupID, name, lathe.InstanceStarting, providerText(p), micros(t.now), micros(t.now)).Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	return s.instance(ctx, id)
}

func (s *Store) instance(ctx context.Context, id int64) (*lathe.AgentInstance, error) {
	in, err := scanInstance(s.queryRow(ctx, instanceQuery+` WHERE i.id = ?`, id))
	if err != nil {
		return nil, notFound(err, "agent instance", id)
	}
	return in, nil
}

// SetInstance stores an instance's state (starting, stopping or failed),
// its provider's handle and its error.
func (s *Store) SetInstance(ctx context.Context, id int64, state, handle, errText string) error {
	switch state {
	case lathe.InstanceStarting, lathe.InstanceStopping, lathe.InstanceFailed:
	default:
		return fmt.Errorf("agent instance %d: state %q: only starting, stopping and failed are stored: %w", id, state, lathe.ErrInvalid)
	}
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE agent_instances SET state = ?, handle = ?, error = ?, updated_at = ? WHERE id = ?`,
			state, handle, errText, micros(t.now), id)
		if err != nil {
			return fmt.Errorf("update agent instance %d: %w", id, err)
		}
		return mustAffect(res, "agent instance", id)
	})
}

// RemoveInstance forgets an instance that is gone, and deletes its agent
// (kept as a tombstone when it ran jobs, see DeleteAgent).
func (s *Store) RemoveInstance(ctx context.Context, id int64) error {
	in, err := s.instance(ctx, id)
	if err != nil {
		return err
	}
	var agentID int64
	err = s.queryRow(ctx, `SELECT id FROM agents WHERE name = ? AND deleted_at IS NULL`, in.Name).Scan(&agentID)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return fmt.Errorf("agent of instance %d: %w", id, err)
	default:
		if err := s.DeleteAgent(ctx, agentID); err != nil {
			return fmt.Errorf("agent of instance %d: %w", id, err)
		}
	}
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `DELETE FROM agent_instances WHERE id = ?`, id)
		return err
	})
}

// QueuedLabels returns the labels (runs_on) of every queued job, one list per job.
func (s *Store) QueuedLabels(ctx context.Context) ([][]string, error) {
	rows, err := s.query(ctx, `SELECT runs_on FROM jobs WHERE status = ?`, lathe.StatusQueued)
	if err != nil {
		return nil, fmt.Errorf("queued jobs' labels: %w", err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var text string
		var labels []string
		if err := rows.Scan(&text); err != nil {
			return nil, err
		}
		if err := fromJSON(text, &labels); err != nil {
			return nil, fmt.Errorf("queued job labels %q: %w", text, err)
		}
		out = append(out, labels)
	}
	return out, rows.Err()
}

// ProviderGroups lists the agent groups that have a provider, or
// instances (which their provider, removed, must still stop).
func (s *Store) ProviderGroups(ctx context.Context) ([]*lathe.AgentGroup, error) {
	rows, err := s.query(ctx, `SELECT `+groupCols+` FROM agent_groups gr
		WHERE gr.provider <> '' OR EXISTS (SELECT 1 FROM agent_instances i WHERE i.group_id = gr.id) ORDER BY gr.id`)
	if err != nil {
		return nil, fmt.Errorf("agent groups with a provider: %w", err)
	}
	defer rows.Close()
	var out []*lathe.AgentGroup
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// JoinInstanceAgents makes the registered agents of a group's instances
// members of the group, so they carry its label group:NAME.
func (s *Store) JoinInstanceAgents(ctx context.Context, groupID int64) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `INSERT INTO agent_group_members (group_id, agent_id)
			SELECT i.group_id, g.id FROM agent_instances i JOIN agents g ON g.name = i.name AND g.deleted_at IS NULL
			WHERE i.group_id = ? AND NOT EXISTS (SELECT 1 FROM agent_group_members m WHERE m.group_id = i.group_id AND m.agent_id = g.id)`, groupID)
		if err != nil {
			return fmt.Errorf("agent group %d: members from its instances: %w", groupID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			t.afterCommit = append(t.afterCommit, agentsChanged)
		}
		return nil
	})
}

// InstanceNamed reports whether an instance of any group has this name.
func (s *Store) InstanceNamed(ctx context.Context, name string) (bool, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT count(*) FROM agent_instances WHERE name = ?`, name).Scan(&n); err != nil {
		return false, fmt.Errorf("agent instance %q: %w", name, err)
	}
	return n > 0, nil
}
