package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// Semaphores. A job with a concurrency group holds that group's semaphore
// while it runs: an attempt of it is running. The semaphore needs no state
// of its own beyond the jobs table — the holders are the group's running
// jobs of the project, and a finished, lost, canceled or timed-out attempt
// has released it by ending, in the same transaction that ended it.
//
// The claim path keeps the count within the limit. On SQLite every write
// transaction runs alone, so counting the holders inside the claim suffices.
// On PostgreSQL two claimers of jobs in different runs lock different runs
// and would both count the same holders; so a claim of a job in a group first
// locks the group's row in semaphores (FOR UPDATE) and counts after that
// lock is granted. Under READ COMMITTED each statement sees what committed
// before it began, so the count includes the attempt of the claimer that
// held the lock before. Claims take the run's lock, then one semaphore's:
// always in that order, and never two semaphores, so they cannot deadlock.
//
// Limits may differ between jobs of one group (pipelines change). The limit
// in force is the smallest among the group's jobs now queued or running in
// the project: a job never starts beside more holders than its own limit or
// any current holder's limit allows.

// querier is what reads both from a transaction and from the read pool.
type querier interface {
	queryRow(ctx context.Context, q string, args ...any) row
}

// semaphoreWait returns why a job of the project's group must wait ("" when
// it need not): it counts the holders, finds the limit in force (0 when no
// job of the group is queued or running) and the oldest holder's run, for
// engine.SemaphoreWait.
func semaphoreWait(ctx context.Context, q querier, projectID int64, group string) (string, error) {
	var held, limit int
	var holderRun int64
	err := q.queryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN j.status = ? THEN 1 ELSE 0 END), 0), COALESCE(MIN(j.concurrency_limit), 0),
			COALESCE(MIN(CASE WHEN j.status = ? THEN j.run_id END), 0)
		FROM jobs j JOIN runs r ON r.id = j.run_id
		WHERE j.concurrency_group = ? AND j.status IN (?, ?) AND r.project_id = ?`,
		lathe.StatusRunning, lathe.StatusRunning, group, lathe.StatusQueued, lathe.StatusRunning, projectID).Scan(&held, &limit, &holderRun)
	if err != nil {
		return "", fmt.Errorf("semaphore %s: %w", group, err)
	}
	return engine.SemaphoreWait(group, held, limit, holderRun), nil
}

// semaphoreGate answers, for the queued jobs one claim or sweep looks at,
// whether their group has a free slot; it reads each group once.
type semaphoreGate struct {
	q        querier
	projects map[int64]int64 // run ID → project ID
	reasons  map[semKey]string
}

type semKey struct {
	project int64
	group   string
}

func newSemaphoreGate(q querier) *semaphoreGate {
	return &semaphoreGate{q: q, projects: map[int64]int64{}, reasons: map[semKey]string{}}
}

// cached is wait from what the gate has read already; known is false when
// answering needs a query.
func (g *semaphoreGate) cached(runID int64, group string) (reason string, known bool) {
	if group == "" {
		return "", true
	}
	project, ok := g.projects[runID]
	if !ok {
		return "", false
	}
	reason, known = g.reasons[semKey{project, group}]
	return reason, known
}

// wait returns why a job of runID in group must wait, or "" when it need not.
func (g *semaphoreGate) wait(ctx context.Context, runID int64, group string) (string, error) {
	if group == "" {
		return "", nil
	}
	project, ok := g.projects[runID]
	if !ok {
		if err := g.q.queryRow(ctx, `SELECT project_id FROM runs WHERE id = ?`, runID).Scan(&project); err != nil {
			return "", notFound(err, "run", runID)
		}
		g.projects[runID] = project
	}
	k := semKey{project, group}
	reason, ok := g.reasons[k]
	if !ok {
		var err error
		if reason, err = semaphoreWait(ctx, g.q, project, group); err != nil {
			return "", err
		}
		g.reasons[k] = reason
	}
	return reason, nil
}

// acquire is the claim's check, under the job's run lock, that its group has
// a free slot: it locks the group's semaphore row and counts the holders.
// It returns the wait reason when the group is full.
func (t *txn) acquire(ctx context.Context, jobID, runID int64, group string) (string, error) {
	var project int64
	if err := t.queryRow(ctx, `SELECT project_id FROM runs WHERE id = ?`, runID).Scan(&project); err != nil {
		return "", notFound(err, "run", runID)
	}
	lock := func() error {
		var name string
		return t.queryRow(ctx, `SELECT name FROM semaphores WHERE project_id = ? AND name = ?`+t.d.lockRun, project, group).Scan(&name)
	}
	err := lock()
	if err == sql.ErrNoRows {
		// CreateRun records every group its jobs name; should the row be
		// missing all the same, make it rather than leave the job stuck.
		if _, err := t.exec(ctx, `INSERT INTO semaphores (project_id, name, last_limit, created_at)
			SELECT ?, ?, concurrency_limit, ? FROM jobs WHERE id = ? ON CONFLICT (project_id, name) DO NOTHING`,
			project, group, micros(t.now), jobID); err != nil {
			return "", fmt.Errorf("semaphore %s: %w", group, err)
		}
		err = lock()
	}
	if err != nil {
		return "", fmt.Errorf("lock semaphore %s for job %d: %w", group, jobID, err)
	}
	return semaphoreWait(ctx, t, project, group)
}

// released wakes claimers once the transaction commits when a job of group
// stopped running: a job waiting for the group may start now, though no job
// was queued.
func (t *txn) released(group string) {
	if group != "" {
		t.afterCommit = append(t.afterCommit, wakeClaimers)
	}
}

// putSemaphores records the groups a new run's jobs name, in name order (so
// two runs created at once lock the rows in one order), remembering each
// group's latest limit for when none of its jobs is active.
func (t *txn) putSemaphores(ctx context.Context, projectID int64, jobs []*lathe.Job) error {
	limits := map[string]int{}
	for _, j := range jobs {
		if c := j.Concurrency; c != nil && c.Group != "" {
			if l, ok := limits[c.Group]; !ok || c.Limit < l {
				limits[c.Group] = c.Limit
			}
		}
	}
	names := make([]string, 0, len(limits))
	for n := range limits {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := t.exec(ctx, `INSERT INTO semaphores (project_id, name, last_limit, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (project_id, name) DO UPDATE SET last_limit = excluded.last_limit`,
			projectID, n, limits[n], micros(t.now)); err != nil {
			return fmt.Errorf("semaphore %s: %w", n, err)
		}
	}
	return nil
}

// semaphoreWaiter is a queued job the claim passed over for its group.
type semaphoreWaiter struct {
	jobID, runID int64
	reason       string
}

// noteSemaphoreWaits sets the wait reason of queued jobs a claim passed over
// because their group was full. Each run's jobs change under the run's lock,
// in a transaction of their own after the claim's: a claim holds no job rows
// while it waits for a run.
func (s *Store) noteSemaphoreWaits(ctx context.Context, waits []semaphoreWaiter) error {
	for _, w := range waits {
		err := s.tx(ctx, func(t *txn) error {
			if err := t.lockRun(ctx, w.runID); err != nil {
				return err
			}
			res, err := t.exec(ctx, `UPDATE jobs SET wait_reason = ? WHERE id = ? AND status = ? AND wait_reason <> ?`,
				w.reason, w.jobID, lathe.StatusQueued, w.reason)
			if err != nil {
				return fmt.Errorf("wait reason of job %d: %w", w.jobID, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				t.afterCommit = append(t.afterCommit, func(s *Store) { s.runChanged(w.runID) })
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Semaphores lists the semaphores of a project by name, with their holders
// and waiters.
func (s *Store) Semaphores(ctx context.Context, projectID int64) ([]*lathe.Semaphore, error) {
	return s.semaphores(ctx, projectID, "")
}

// Semaphore returns one semaphore of a project.
func (s *Store) Semaphore(ctx context.Context, projectID int64, name string) (*lathe.Semaphore, error) {
	out, err := s.semaphores(ctx, projectID, name)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("semaphore %q: %w", name, lathe.ErrNotFound)
	}
	return out[0], nil
}

// semaphores lists the project's semaphores, or the one called name.
func (s *Store) semaphores(ctx context.Context, projectID int64, name string) ([]*lathe.Semaphore, error) {
	cond, args := `s.project_id = ?`, []any{projectID}
	if name != "" {
		cond, args = cond+` AND s.name = ?`, append(args, name)
	}
	rows, err := s.query(ctx, `SELECT s.name, p.name, s.last_limit FROM semaphores s JOIN projects p ON p.id = s.project_id
		WHERE `+cond+` ORDER BY s.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list semaphores: %w", err)
	}
	out := []*lathe.Semaphore{}
	byName := map[string]*lathe.Semaphore{}
	for rows.Next() {
		sem := &lathe.Semaphore{Holders: []lathe.SemaphoreHolder{}, Waiters: []lathe.SemaphoreWaiter{}}
		if err := rows.Scan(&sem.Name, &sem.Project, &sem.Limit); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list semaphores: %w", err)
		}
		out = append(out, sem)
		byName[sem.Name] = sem
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}

	// The limit in force is the smallest among the active jobs; it replaces
	// the remembered one only when some job is active.
	active := map[string]int{}
	minLimit := func(group string, limit int) {
		if l, ok := active[group]; !ok || limit < l {
			active[group] = limit
		}
	}
	groupCond, groupArgs := `j.concurrency_group <> ''`, []any{}
	if name != "" {
		groupCond, groupArgs = `j.concurrency_group = ?`, []any{name}
	}
	hrows, err := s.query(ctx, `SELECT j.concurrency_group, j.concurrency_limit, j.id, j.name, a.id, r.id, r.pipeline, COALESCE(r.branch_number, r.number), g.name, a.started_at
		FROM attempts a JOIN jobs j ON j.id = a.job_id JOIN runs r ON r.id = j.run_id JOIN agents g ON g.id = a.agent_id
		WHERE a.status = ? AND r.project_id = ? AND `+groupCond+` ORDER BY a.id`,
		append([]any{lathe.StatusRunning, projectID}, groupArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("semaphore holders: %w", err)
	}
	for hrows.Next() {
		var group string
		var limit int
		var h lathe.SemaphoreHolder
		var since sql.NullInt64
		if err := hrows.Scan(&group, &limit, &h.JobID, &h.Job, &h.AttemptID, &h.RunID, &h.Pipeline, &h.RunNumber, &h.Agent, &since); err != nil {
			hrows.Close()
			return nil, fmt.Errorf("semaphore holders: %w", err)
		}
		if sem := byName[group]; sem != nil {
			h.Since = fromMicros(since.Int64)
			sem.Holders = append(sem.Holders, h)
			minLimit(group, limit)
		}
	}
	hrows.Close()
	if err := hrows.Err(); err != nil {
		return nil, fmt.Errorf("semaphore holders: %w", err)
	}

	wrows, err := s.query(ctx, `SELECT j.concurrency_group, j.concurrency_limit, j.id, j.name, r.id, r.pipeline, COALESCE(r.branch_number, r.number), j.queued_at
		FROM jobs j JOIN runs r ON r.id = j.run_id
		WHERE j.status = ? AND r.project_id = ? AND `+groupCond+` ORDER BY j.id`,
		append([]any{lathe.StatusQueued, projectID}, groupArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("semaphore waiters: %w", err)
	}
	defer wrows.Close()
	for wrows.Next() {
		var group string
		var limit int
		var w lathe.SemaphoreWaiter
		var queued sql.NullInt64
		if err := wrows.Scan(&group, &limit, &w.JobID, &w.Job, &w.RunID, &w.Pipeline, &w.RunNumber, &queued); err != nil {
			return nil, fmt.Errorf("semaphore waiters: %w", err)
		}
		if sem := byName[group]; sem != nil {
			w.QueuedAt = fromNullMicros(queued)
			sem.Waiters = append(sem.Waiters, w)
			minLimit(group, limit)
		}
	}
	if err := wrows.Err(); err != nil {
		return nil, fmt.Errorf("semaphore waiters: %w", err)
	}
	for group, limit := range active {
		byName[group].Limit = limit
	}
	return out, nil
}
