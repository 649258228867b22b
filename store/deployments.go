package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// Deployments of candidates and commits to environments (issue 18). A
// deployment has one of three sources, and its status follows that source
// when it is read, so the job and run state machine stays the only one:
//
//   - a pipeline job with `environment: NAME` (job_id set): the job's status;
//   - a deploy run the server started (run_id set, no job): the run's status;
//   - an outside CD (neither): the status it last reported (PATCH).
//
// The lock, one deployment at a time per environment, is the semaphore
// lathe.EnvironmentLock(NAME) that every job deploying there holds while it
// runs (the trigger gives it to them): a second deploy job waits queued with
// a wait reason. A request to start a deployment through the API, or an
// outside CD reporting one as started (pending, in_progress), is refused
// with a conflict while a deployment the server runs is unfinished there (see
// busyEnvironment); an outside CD's report of an outcome always lands, since
// it tells what already happened.

// deployStatus maps a deployment's source's status onto a deployment status.
const deployStatus = `CASE WHEN d.job_id IS NOT NULL THEN (CASE
		WHEN dj.status IN ('pending', 'queued') THEN 'pending'
		WHEN dj.status = 'waiting_for_approval' THEN 'waiting_for_approval'
		WHEN dj.status = 'running' THEN 'in_progress'
		WHEN dj.status = 'success' THEN 'success'
		WHEN dj.status IN ('canceled', 'skipped') THEN 'canceled'
		ELSE 'failure' END)
	WHEN d.run_id IS NULL THEN d.status
	WHEN r.status IN ('pending', 'queued') THEN 'pending'
	WHEN r.status = 'waiting_for_approval' THEN 'waiting_for_approval'
	WHEN r.status = 'running' THEN 'in_progress'
	WHEN r.status = 'success' THEN 'success'
	WHEN r.status IN ('canceled', 'skipped') THEN 'canceled'
	ELSE 'failure' END`

// deploymentColumns reads a deployment with its candidate (if any), its
// status, and the gate it met: its job's, or the first gated job of its
// deploy run.
const deploymentColumns = `SELECT d.id, e.name, COALESCE(rl.version, ''), COALESCE(c.number, 0), d.commit_id, ` + deployStatus + `,
		COALESCE(d.run_id, 0), COALESCE(d.job_id, 0), COALESCE(dj.wait_reason, ''), d.created_by, d.created_at, d.updated_at,
		COALESCE(gj.approval, ''), COALESCE(gj.approved_by, ''), gj.approved_at, COALESCE(gj.rejected_by, ''), gj.rejected_at,
		COALESCE(gj.gate_comment, ''), COALESCE(gj.id, 0), dp.name,
		CASE WHEN d.job_id IS NOT NULL THEN dj.started_at ELSE r.started_at END,
		CASE WHEN d.job_id IS NOT NULL THEN dj.finished_at ELSE r.finished_at END
	FROM deployments d JOIN environments e ON e.id = d.environment_id JOIN projects dp ON dp.id = e.project_id
	LEFT JOIN release_candidates c ON c.id = d.candidate_id LEFT JOIN releases rl ON rl.id = c.release_id
	LEFT JOIN runs r ON r.id = d.run_id LEFT JOIN jobs dj ON dj.id = d.job_id
	LEFT JOIN jobs gj ON gj.id = COALESCE(d.job_id, (SELECT MIN(x.id) FROM jobs x WHERE x.run_id = d.run_id AND x.approval <> '')) `

// busyEnvironment finds (one argument: the environment's ID) the oldest
// deployment the server runs there that is unfinished — its deploy run has
// not ended, or its deploy job is running — with its run and that status.
const busyEnvironment = `SELECT d.id, COALESCE(d.run_id, 0), COALESCE(j.status, r.status) FROM deployments d
	LEFT JOIN runs r ON r.id = d.run_id LEFT JOIN jobs j ON j.id = d.job_id
	WHERE d.environment_id = ? AND ((d.job_id IS NULL AND r.status IN ('pending', 'queued', 'running', 'waiting_for_approval'))
		OR j.status = 'running')
	ORDER BY d.id LIMIT 1`

// CheckEnvironmentFree refuses, as a conflict, while a deployment the
// server runs to the environment is unfinished: a deployment asks before
// planning its run, to fail fast. CreateRun checks again, under the lock.
func (s *Store) CheckEnvironmentFree(ctx context.Context, envID int64) error {
	return checkFree(ctx, s, envID)
}

// checkFree's conflict names the deployment in the way, so that whoever
// waits knows which run to follow, approve or cancel.
func checkFree(ctx context.Context, q querier, envID int64) error {
	var id, runID int64
	var status string
	err := q.queryRow(ctx, busyEnvironment, envID).Scan(&id, &runID, &status)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deployment lock: %w", err)
	}
	return fmt.Errorf("deployment %d to this environment is not finished (run %d is %s); one deployment at a time: %w",
		id, runID, status, lathe.ErrConflict)
}

// checkFree is CheckEnvironmentFree in t. On PostgreSQL it first locks the
// environment's row, so that two transactions checking the same
// environment take turns and the second sees what the first recorded
// (SQLite runs one write transaction at a time already).
func (t *txn) checkFree(ctx context.Context, envID int64) error {
	var id int64
	if err := t.queryRow(ctx, `SELECT id FROM environments WHERE id = ?`+t.d.lockRun, envID).Scan(&id); err != nil {
		return notFound(err, "environment", envID)
	}
	return checkFree(ctx, t, envID)
}

// RunDeployment is the deployment a new run is the deploy run of (a
// deployment through the API, a promotion, a rollback, a re-run of a deploy
// run). CreateRun checks the environment is free and records the
// deployment with the run, in one transaction: two deployments cannot both
// pass the check, and none is ever left without its run. It sets ID.
type RunDeployment struct {
	EnvironmentID int64
	CandidateID   int64
	By            string
	ID            int64
}

// insertDeployment records a deployment of a candidate: reported (runID
// 0, status "pending" until reported otherwise) or the deploy run runID's.
func (t *txn) insertDeployment(ctx context.Context, envID, candidateID, runID int64, by string) row {
	return t.queryRow(ctx, `INSERT INTO deployments (environment_id, candidate_id, status, run_id, created_by, created_at, updated_at, commit_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT commit_id FROM release_candidates WHERE id = ?)) RETURNING id`,
		envID, candidateID, "pending", nullInt(runID), by, micros(t.now), micros(t.now), candidateID)
}

// ReportDeployment sets the status an outside CD reports for the latest
// deployment of candidate to environment (one it reported before), or
// records a new one when there is none or that one ended (see
// engine.ReportStartsDeployment). A report that starts a deployment
// (pending or in_progress) is a conflict while one the server runs there
// is unfinished; any other status lands.
func (s *Store) ReportDeployment(ctx context.Context, envID, candidateID int64, status, by string) (int64, error) {
	var id int64
	err := s.tx(ctx, func(t *txn) error {
		if status == "pending" || status == "in_progress" {
			if err := t.checkFree(ctx, envID); err != nil {
				return fmt.Errorf("report deployment %s: %w", status, err)
			}
		}
		var last string
		var newest int64
		err := t.queryRow(ctx, `SELECT id, status, (SELECT MAX(x.id) FROM deployments x WHERE x.environment_id = d.environment_id)
			FROM deployments d WHERE environment_id = ? AND candidate_id = ? AND run_id IS NULL AND job_id IS NULL
			ORDER BY id DESC LIMIT 1`, envID, candidateID).Scan(&id, &last, &newest)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("report deployment: %w", err)
		}
		if engine.ReportStartsDeployment(last, id != 0 && id == newest, status) {
			if err := t.insertDeployment(ctx, envID, candidateID, 0, by).Scan(&id); err != nil {
				return fmt.Errorf("report deployment: %w", err)
			}
		}
		_, err = t.exec(ctx, `UPDATE deployments SET status = ?, updated_at = ? WHERE id = ?`, status, micros(t.now), id)
		return err
	})
	return id, err
}

// JobDeployment is a job of a new run that deploys to an environment the
// server knows: CreateRun records its deployment with the job.
type JobDeployment struct {
	Job           *lathe.Job
	EnvironmentID int64
	// CandidateID is the candidate the run was started for, 0 for none
	// (a deployment of the run's commit).
	CandidateID int64
	By          string
}

// putJobDeployments records the deployments of a new run's deploy jobs.
func (t *txn) putJobDeployments(ctx context.Context, run *lathe.Run, ds []JobDeployment) error {
	for _, d := range ds {
		_, err := t.exec(ctx, `INSERT INTO deployments (environment_id, candidate_id, status, run_id, created_by, created_at, updated_at, commit_id, job_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.EnvironmentID, nullInt(d.CandidateID), "pending", run.ID, d.By,
			micros(t.now), micros(t.now), run.Commit, d.Job.ID)
		if err != nil {
			return fmt.Errorf("record deployment of job %q: %w", d.Job.Name, err)
		}
	}
	return nil
}

// linkJobDeployments links the deployments of the deploy jobs of a
// candidate's build run (runID; 0: none) to the candidate, which is stored
// after its run started.
func (t *txn) linkJobDeployments(ctx context.Context, runID, candidateID int64) error {
	if runID == 0 {
		return nil
	}
	_, err := t.exec(ctx, `UPDATE deployments SET candidate_id = ?, updated_at = ? WHERE run_id = ? AND job_id IS NOT NULL AND candidate_id IS NULL`,
		candidateID, micros(t.now), runID)
	if err != nil {
		return fmt.Errorf("link deployments of run %d to its candidate: %w", runID, err)
	}
	return nil
}

// Deployment returns one deployment.
func (s *Store) Deployment(ctx context.Context, id int64) (*lathe.Deployment, error) {
	ds, err := s.deployments(ctx, `WHERE d.id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("deployment %d: %w", id, lathe.ErrNotFound)
	}
	return ds[0], nil
}

// DeploymentOfRun returns the deployment whose deploy run runID is.
func (s *Store) DeploymentOfRun(ctx context.Context, runID int64) (*lathe.Deployment, error) {
	ds, err := s.deployments(ctx, `WHERE d.run_id = ? AND d.job_id IS NULL ORDER BY d.id DESC LIMIT 1`, runID)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("run %d is no deployment's deploy run: %w", runID, lathe.ErrNotFound)
	}
	return ds[0], nil
}

// CurrentDeployment is the environment's latest successful deployment, nil
// when it has none: the version that runs there.
func (s *Store) CurrentDeployment(ctx context.Context, envID int64) (*lathe.Deployment, error) {
	id, err := s.currentDeploymentID(ctx, envID)
	if err != nil || id == 0 {
		return nil, err
	}
	return s.Deployment(ctx, id)
}

// currentDeploymentID walks the environment's deployments newest first on
// its index to the latest successful one; 0 for none.
func (s *Store) currentDeploymentID(ctx context.Context, envID int64) (int64, error) {
	var id int64
	err := s.queryRow(ctx, `SELECT d.id FROM deployments d WHERE d.environment_id = ?
		AND CASE WHEN d.job_id IS NOT NULL THEN EXISTS (SELECT 1 FROM jobs j WHERE j.id = d.job_id AND j.status = 'success')
			WHEN d.run_id IS NULL THEN d.status = 'success'
			ELSE EXISTS (SELECT 1 FROM runs r WHERE r.id = d.run_id AND r.status = 'success') END
		ORDER BY d.id DESC LIMIT 1`, envID).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("current deployment of environment %d: %w", envID, err)
	}
	return id, nil
}

// Matrix answers what runs where: each environment of the project in
// promotion order with its current deployment. It finds each current
// deployment on the environment's index, then reads them all at once.
func (s *Store) Matrix(ctx context.Context, projectID int64) ([]*lathe.MatrixRow, error) {
	es, err := s.Environments(ctx, projectID)
	if err != nil {
		return nil, err
	}
	out := make([]*lathe.MatrixRow, 0, len(es))
	ids := make([]any, 0, len(es))
	rowOf := map[int64]*lathe.MatrixRow{}
	for _, e := range es {
		row := &lathe.MatrixRow{Environment: e.Name, Position: e.Position}
		out = append(out, row)
		id, err := s.currentDeploymentID(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		if id != 0 {
			ids, rowOf[id] = append(ids, id), row
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	ds, err := s.deployments(ctx, `WHERE d.id IN (`+placeholders(len(ids))+`)`, ids...)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		rowOf[d.ID].Current = d
	}
	return out, nil
}

func (s *Store) deployments(ctx context.Context, tail string, args ...any) ([]*lathe.Deployment, error) {
	rows, err := s.query(ctx, deploymentColumns+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Deployment{}
	for rows.Next() {
		d := &lathe.Deployment{}
		var n int
		var created, updated int64
		var approval, approvedBy, rejectedBy, comment string
		var approvedAt, rejectedAt, started, finished sql.NullInt64
		if err := rows.Scan(&d.ID, &d.Environment, &d.Version, &n, &d.Commit, &d.Status, &d.RunID, &d.JobID, &d.WaitReason,
			&d.CreatedBy, &created, &updated, &approval, &approvedBy, &approvedAt, &rejectedBy, &rejectedAt, &comment, &d.GateJobID, &d.Project,
			&started, &finished); err != nil {
			return nil, fmt.Errorf("list deployments: %w", err)
		}
		if d.Version != "" {
			d.Version += "-rc" + strconv.Itoa(n)
		}
		if approval == "" {
			d.GateJobID = 0
		} else {
			d.Gate = &lathe.Approval{}
			if err := fromJSON(approval, d.Gate); err != nil {
				return nil, fmt.Errorf("deployment %d gate: %w", d.ID, err)
			}
			d.Gate.ApprovedBy, d.Gate.ApprovedAt = approvedBy, fromNullMicros(approvedAt)
			d.Gate.RejectedBy, d.Gate.RejectedAt, d.Gate.Comment = rejectedBy, fromNullMicros(rejectedAt), comment
		}
		// A deployment the server runs changes with its run or job (and
		// its gate): it was last updated by the latest of them.
		for _, at := range []sql.NullInt64{started, finished, approvedAt, rejectedAt} {
			if at.Valid && at.Int64 > updated {
				updated = at.Int64
			}
		}
		d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}

// SuccessfulDeployments lists an environment's successful deployments,
// newest first, at most limit.
func (s *Store) SuccessfulDeployments(ctx context.Context, envID int64, limit int) ([]*lathe.Deployment, error) {
	return s.deployments(ctx, `WHERE d.environment_id = ? AND `+deployStatus+` = 'success' ORDER BY d.id DESC LIMIT ?`, envID, limit)
}

// EnvironmentOfJob is the ID of the server's environment a job deploys
// to (its `environment:`, or its deploy run's), 0 when it deploys nowhere
// the server knows.
func (s *Store) EnvironmentOfJob(ctx context.Context, jobID int64) (int64, error) {
	var id int64
	err := s.queryRow(ctx, `SELECT e.id FROM jobs j JOIN runs r ON r.id = j.run_id
		JOIN environments e ON e.project_id = r.project_id AND e.name = j.environment WHERE j.id = ?`, jobID).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("environment of job %d: %w", jobID, err)
	}
	return id, nil
}

// DeployRunTarget names what the deployment whose deploy run is runID
// deploys: its environment, and its candidate as VERSION and N of
// VERSION-rcN. It is ErrNotFound when runID is no deployment's deploy run.
func (s *Store) DeployRunTarget(ctx context.Context, runID int64) (env, version string, n int, err error) {
	err = s.queryRow(ctx, `SELECT e.name, rl.version, c.number FROM deployments d
		JOIN environments e ON e.id = d.environment_id
		JOIN release_candidates c ON c.id = d.candidate_id JOIN releases rl ON rl.id = c.release_id
		WHERE d.run_id = ? AND d.job_id IS NULL ORDER BY d.id DESC LIMIT 1`, runID).Scan(&env, &version, &n)
	if err == sql.ErrNoRows {
		return "", "", 0, fmt.Errorf("run %d is no deployment's deploy run: %w", runID, lathe.ErrNotFound)
	}
	if err != nil {
		return "", "", 0, fmt.Errorf("deployment of run %d: %w", runID, err)
	}
	return env, version, n, nil
}
