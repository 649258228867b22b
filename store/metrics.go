package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// QueueGauge is what waits in the queue for one set of labels.
type QueueGauge struct {
	// RunsOn is the jobs' required labels, as stored (a JSON list).
	RunsOn string
	Jobs   int64
	// OldestWait is how long the longest-queued of them has waited.
	OldestWait time.Duration
}

// QueueGauges counts the queued jobs by the labels they need, with their
// oldest wait (for /metrics).
func (s *Store) QueueGauges(ctx context.Context) ([]QueueGauge, error) {
	rows, err := s.r.QueryContext(ctx, s.d.rebind(
		`SELECT runs_on, COUNT(*), MIN(COALESCE(queued_at, created_at)) FROM jobs WHERE status = 'queued' GROUP BY runs_on`))
	if err != nil {
		return nil, fmt.Errorf("queue gauges: %w", err)
	}
	defer rows.Close()
	now := s.now()
	var out []QueueGauge
	for rows.Next() {
		var g QueueGauge
		var oldest int64
		if err := rows.Scan(&g.RunsOn, &g.Jobs, &oldest); err != nil {
			return nil, fmt.Errorf("queue gauges: %w", err)
		}
		g.OldestWait = max(0, now.Sub(fromMicros(oldest)))
		out = append(out, g)
	}
	return out, rows.Err()
}

// AgentsOnline counts the agents heard from within lathe.AgentOnlineWindow.
func (s *Store) AgentsOnline(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM agents WHERE last_seen >= ?`),
		micros(s.now().Add(-lathe.AgentOnlineWindow))).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("agents online: %w", err)
	}
	return n, nil
}

// GroupCount is a number of agents of one group.
type GroupCount struct {
	Group  string
	Agents int64
}

// AgentsOnlineByGroup counts, for every agent group, its members heard from
// within lathe.AgentOnlineWindow (zero included; an agent in two groups
// counts in both).
func (s *Store) AgentsOnlineByGroup(ctx context.Context) ([]GroupCount, error) {
	rows, err := s.r.QueryContext(ctx, s.d.rebind(`SELECT gr.name, COUNT(g.id) FROM agent_groups gr
		LEFT JOIN agent_group_members m ON m.group_id = gr.id
		LEFT JOIN agents g ON g.id = m.agent_id AND g.last_seen >= ?
		GROUP BY gr.name ORDER BY gr.name`), micros(s.now().Add(-lathe.AgentOnlineWindow)))
	if err != nil {
		return nil, fmt.Errorf("agents online by group: %w", err)
	}
	defer rows.Close()
	var out []GroupCount
	for rows.Next() {
		var c GroupCount
		if err := rows.Scan(&c.Group, &c.Agents); err != nil {
			return nil, fmt.Errorf("agents online by group: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// FinishedAttempt is one attempt that ended, for the duration histograms
// and the endings counter (see AttemptObserver).
type FinishedAttempt struct {
	ID        int64
	Status    lathe.Status
	EndReason string
	// Ran is from start to end (zero when it never started).
	Ran time.Duration
}

// AttemptObserver is told, once each change is durable, of the attempts a
// store starts (a claim) and ends (a finish, a hand-back, a loss, a
// timeout): each once, on the replica that made the change, in whatever
// order attempts end. Either may be nil.
type AttemptObserver struct {
	Started func()
	Ended   func(FinishedAttempt)
}

// SetAttemptObserver sets the store's AttemptObserver. Set it before
// serving.
func (s *Store) SetAttemptObserver(o AttemptObserver) { s.attemptObs = o }

// FinishedStep is one step that ended, for the duration histograms.
type FinishedStep struct {
	Status string
	// Ran is from start to end (zero when it never started).
	Ran time.Duration
}

// FinishedStepsOf lists the ended steps of the attempts ids (for /metrics,
// beside AttemptObserver).
func (s *Store) FinishedStepsOf(ctx context.Context, ids []int64) ([]FinishedStep, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, s.d.rebind(`SELECT status, COALESCE(started_at, 0), finished_at FROM steps
		WHERE attempt_id IN (`+placeholders(len(ids))+`) AND finished_at IS NOT NULL`), idArgs(ids)...)
	if err != nil {
		return nil, fmt.Errorf("finished steps: %w", err)
	}
	defer rows.Close()
	var out []FinishedStep
	for rows.Next() {
		var st FinishedStep
		var started, finished int64
		if err := rows.Scan(&st.Status, &started, &finished); err != nil {
			return nil, fmt.Errorf("finished steps: %w", err)
		}
		if started > 0 {
			st.Ran = max(0, fromMicros(finished).Sub(fromMicros(started)))
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// Pool is the writers' connection pool (for its statistics on /metrics;
// on PostgreSQL readers share it).
func (s *Store) Pool() *sql.DB { return s.w }
