package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// Re-runs. A final status is final: re-running jobs of a finished run makes
// a new run (parent_id naming the run, event rerun) at the same commit, with
// the same stages, jobs and parameters. The jobs re-run, and every job that
// needs one of them (transitively: it used what they made), start afresh as
// pending, with their gates closed again; every other job is carried over
// with its result and names the job that ran (carried_from), whose attempts,
// logs and uploads it shows. The numbering of a re-run job's attempts goes
// on from the job it re-runs (LATHE_ATTEMPT says which try this is). A
// whole run is re-run from its pipeline file (see trigger.Service.Rerun).
//
// A re-run is asked for by a user, by: what runs again deploys again as a
// new deployment of what the re-run job (or run) deployed, by that user;
// and a gate that demands a second person is one by must not answer, as
// the gate of a deployment the user asked for (a re-run never reopens a
// gate for the one it keeps out).

// RerunJob re-runs a finished job of a finished run, and the jobs that need
// it, as a new run, by the user by. It is a conflict while the run is
// unfinished, or for a job that never ran (skipped: its dependencies
// decided that).
func (s *Store) RerunJob(ctx context.Context, id int64, by string) (*lathe.Run, error) {
	var runID int64
	if err := s.queryRow(ctx, `SELECT run_id FROM jobs WHERE id = ?`, id).Scan(&runID); err != nil {
		return nil, notFound(err, "job", id)
	}
	return s.rerunAsNewRun(ctx, runID, by, func(nodes []engine.Node) ([]int64, error) {
		for _, n := range nodes {
			if n.ID == id {
				return []int64{id}, engine.Rerunnable(id, n.Status)
			}
		}
		return nil, fmt.Errorf("job %d: %w", id, lathe.ErrNotFound)
	})
}

// RerunFailed re-runs every failed, canceled, lost or timed-out job of a
// finished run, and the jobs that need them, as a new run, by the user by.
// It is a conflict while the run is unfinished or when none of its jobs
// failed.
func (s *Store) RerunFailed(ctx context.Context, runID int64, by string) (*lathe.Run, error) {
	return s.rerunAsNewRun(ctx, runID, by, func(nodes []engine.Node) ([]int64, error) {
		var ids []int64
		for _, n := range nodes {
			if engine.RerunsWhenFailed(n.Status) {
				ids = append(ids, n.ID)
			}
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("run %d has no failed, canceled, lost or timed-out job to re-run: %w", runID, lathe.ErrConflict)
		}
		return ids, nil
	})
}

// rerunAsNewRun makes the new run that re-runs the jobs pick chooses of the
// finished run parentID, by the user by, in one transaction.
func (s *Store) rerunAsNewRun(ctx context.Context, parentID int64, by string, pick func([]engine.Node) ([]int64, error)) (*lathe.Run, error) {
	r := &lathe.Run{}
	err := s.tx(ctx, func(t *txn) error {
		var params string
		var untrusted, fromAPI int
		// perBranch: the parent was numbered in its branch's sequence, and
		// so is its re-run.
		var pull, perBranch sql.NullInt64
		if err := t.queryRow(ctx, `SELECT project_id, pipeline, ref, branch, commit_sha, status, untrusted, params, pull_request,
				branch_number, pipeline_from_api
			FROM runs WHERE id = ?`+t.d.lockRun, parentID).
			Scan(&r.ProjectID, &r.Pipeline, &r.Ref, &r.Branch, &r.Commit, &r.Status, &untrusted, &params, &pull, &perBranch, &fromAPI); err != nil {
			return notFound(err, "run", parentID)
		}
		if !r.Status.Terminal() {
			return fmt.Errorf("run %d is still %s: its jobs are re-run once it has ended (or cancel it first): %w",
				parentID, r.Status, lathe.ErrConflict)
		}
		nodes, err := t.runNodes(ctx, parentID)
		if err != nil {
			return err
		}
		ids, err := pick(nodes)
		if err != nil {
			return err
		}
		again := engine.RerunPlan(nodes, ids)

		seq, branchNumber, err := t.numberRun(ctx, r, perBranch.Valid)
		if err != nil {
			return err
		}
		r.Untrusted, r.ParentID, r.Event, r.Status, r.PullRequest = untrusted != 0, &parentID, lathe.EventRerun, lathe.StatusPending, pull.Int64
		now := micros(t.now)
		if err := t.queryRow(ctx, `INSERT INTO runs (project_id, pipeline, number, ref, branch, commit_sha, event, status, created_at,
				parent_id, downstream_done, untrusted, params, pull_request, branch_number, pipeline_from_api)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?) RETURNING id`,
			r.ProjectID, r.Pipeline, seq, r.Ref, r.Branch, r.Commit, r.Event, r.Status, now, parentID,
			untrusted, params, pull, branchNumber, fromAPI).Scan(&r.ID); err != nil {
			return fmt.Errorf("insert run: %w", err)
		}
		if _, err := t.exec(ctx, `INSERT INTO stages (run_id, name, position, status, created_at, updated_at, external)
			SELECT ?, name, position, ?, ?, ?, external FROM stages WHERE run_id = ? ORDER BY position`,
			r.ID, lathe.StatusPending, now, now, parentID); err != nil {
			return fmt.Errorf("copy stages of run %d: %w", parentID, err)
		}
		for _, n := range nodes {
			if err := t.copyJob(ctx, n.ID, r.ID, again[n.ID], now, by); err != nil {
				return err
			}
		}
		// The re-run of a deployment's deploy run deploys again.
		if _, err := t.exec(ctx, `INSERT INTO deployments (environment_id, candidate_id, status, run_id, created_by, created_at, updated_at, commit_id)
			SELECT environment_id, candidate_id, 'pending', ?, ?, ?, ?, commit_id FROM deployments WHERE run_id = ? AND job_id IS NULL`,
			r.ID, by, now, now, parentID); err != nil {
			return fmt.Errorf("deployment of the re-run of run %d: %w", parentID, err)
		}
		if err := t.enqueueRun(ctx, r.ID); err != nil {
			return err
		}
		if r.Untrusted {
			if err := t.gateUntrusted(ctx, r); err != nil {
				return err
			}
		}
		return t.advanceRun(ctx, r.ID)
	})
	if err != nil {
		return nil, err
	}
	return s.Run(ctx, r.ID)
}

// copyJob copies the parent run's job id into the new run runID (into the
// stage of the same name): afresh (pending, its gate closed, its retries
// unused) when it runs again, by the user by, else carried over with its
// result.
func (t *txn) copyJob(ctx context.Context, id, runID int64, again bool, now int64, by string) error {
	status, carried, finished, approvedBy, approvedAt := `'pending'`, `NULL`, `NULL`, `NULL`, `NULL`
	if !again {
		status, carried, finished, approvedBy, approvedAt = `j.status`, `COALESCE(j.carried_from, j.id)`, `?`, `j.approved_by`, `j.approved_at`
	}
	args := []any{runID, runID, now}
	if !again {
		args = append(args, now)
	}
	args = append(args, id)
	var newID int64
	err := t.queryRow(ctx, `INSERT INTO jobs (run_id, stage_id, name, status, deps, needs, runs_on, timeout_sec, env, steps,
			attempt, created_at, finished_at, concurrency_group, concurrency_limit, secrets, allow_failure, retry_count, retry_on,
			approval, approved_by, approved_at, environment, carried_from, container, image, reports)
		SELECT ?, (SELECT ns.id FROM stages ns WHERE ns.run_id = ? AND ns.name = s.name), j.name, `+status+`, j.deps, j.needs,
			j.runs_on, j.timeout_sec, j.env, j.steps, j.attempt, ?, `+finished+`, j.concurrency_group,
			j.concurrency_limit, j.secrets, j.allow_failure, j.retry_count, j.retry_on, j.approval, `+approvedBy+`, `+approvedAt+`,
			j.environment, `+carried+`, j.container, j.image, j.reports
		FROM jobs j JOIN stages s ON s.id = j.stage_id WHERE j.id = ? RETURNING id`, args...).Scan(&newID)
	if err != nil {
		return fmt.Errorf("copy job %d into run %d: %w", id, runID, err)
	}
	if again {
		// A deploy job that runs again deploys again: a new deployment,
		// of what the one it re-runs deployed.
		if _, err := t.exec(ctx, `INSERT INTO deployments (environment_id, candidate_id, status, run_id, created_by, created_at, updated_at, commit_id, job_id)
			SELECT environment_id, candidate_id, 'pending', ?, ?, ?, ?, commit_id, ? FROM deployments WHERE job_id = ?`,
			runID, by, now, now, newID, id); err != nil {
			return fmt.Errorf("deployment of re-run job %d: %w", id, err)
		}
		return t.secondPersonIs(ctx, newID, by)
	}
	return t.carryResults(ctx, id, newID, runID)
}

// carryResults gives job to, carried over into run runID from job from,
// the results from's reports gave: its test results, its reports and the
// issues they found, as they were (a carried job's results count in the
// new run's totals, and once more in no test's history).
func (t *txn) carryResults(ctx context.Context, from, to, runID int64) error {
	for _, q := range []string{
		`INSERT INTO test_results (run_id, job_id, test_case_id, status, duration_ms, message, change, instability, flaky)
			SELECT ?, ?, test_case_id, status, duration_ms, message, change, instability, flaky FROM test_results WHERE job_id = ? ORDER BY id`,
		`INSERT INTO job_reports (run_id, job_id, kind, file, entries, warnings, created_at)
			SELECT ?, ?, kind, file, entries, warnings, created_at FROM job_reports WHERE job_id = ? ORDER BY id`,
		`INSERT INTO run_issues (run_id, job_id, file, line, col, severity, message, symbol, fingerprint, is_new)
			SELECT ?, ?, file, line, col, severity, message, symbol, fingerprint, is_new FROM run_issues WHERE job_id = ? ORDER BY id`,
	} {
		if _, err := t.exec(ctx, q, runID, to, from); err != nil {
			return fmt.Errorf("carry the results of job %d into run %d: %w", from, runID, err)
		}
	}
	return nil
}

// secondPersonIs makes by the user who may not answer the gate of the
// job id when its gate demands a second person.
func (t *txn) secondPersonIs(ctx context.Context, id int64, by string) error {
	var text string
	if err := t.queryRow(ctx, `SELECT approval FROM jobs WHERE id = ?`, id).Scan(&text); err != nil {
		return fmt.Errorf("gate of job %d: %w", id, err)
	}
	var g lathe.Approval
	if text == "" {
		return nil
	}
	if err := fromJSON(text, &g); err != nil {
		return fmt.Errorf("gate of job %d: %w", id, err)
	}
	if g.NotBy == "" || g.NotBy == by {
		return nil
	}
	g.NotBy = by
	if _, err := t.exec(ctx, `UPDATE jobs SET approval = ? WHERE id = ?`, jsonObject(&g), id); err != nil {
		return fmt.Errorf("gate of job %d: %w", id, err)
	}
	return nil
}

// runNodes reads the jobs of a run as the engine sees them.
func (t *txn) runNodes(ctx context.Context, runID int64) ([]engine.Node, error) {
	rows, err := t.query(ctx, `SELECT id, name, status, deps, allow_failure,
			(approval <> '' AND approved_at IS NULL) OR trust_gate <> 0
		FROM jobs WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("jobs of run %d: %w", runID, err)
	}
	defer rows.Close()
	var nodes []engine.Node
	for rows.Next() {
		var n engine.Node
		var deps string
		var allowFailure int
		if err := rows.Scan(&n.ID, &n.Name, &n.Status, &deps, &allowFailure, &n.Gated); err != nil {
			return nil, err
		}
		if err := fromJSON(deps, &n.Deps); err != nil {
			return nil, fmt.Errorf("job %d deps: %w", n.ID, err)
		}
		n.AllowFailure = allowFailure != 0
		nodes = append(nodes, n)
	}
	return nodes, rows.Err()
}
