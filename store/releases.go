package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// Environments, releases, candidates and deployments (issue 18). A
// deployment or candidate with a run takes its status from the run when it
// is read, so the run's state machine is the only one: nothing here writes
// a run's or a job's status.

// deployStatus maps a deploy run's status onto a deployment status.
const deployStatus = `CASE WHEN d.run_id IS NULL THEN d.status
	WHEN r.status IN ('pending', 'queued') THEN 'pending'
	WHEN r.status = 'waiting_for_approval' THEN 'waiting_for_approval'
	WHEN r.status = 'running' THEN 'in_progress'
	WHEN r.status = 'success' THEN 'success'
	WHEN r.status IN ('canceled', 'skipped') THEN 'canceled'
	ELSE 'failure' END`

// candidateStatus maps a build run's status onto a candidate status.
const candidateStatus = `CASE WHEN c.run_id IS NULL OR cr.status = 'success' THEN 'ready'
	WHEN cr.status IN ('pending', 'queued', 'running', 'waiting_for_approval') THEN 'building'
	ELSE 'failed' END`

// CreateEnvironment stores a new environment of the project; it fills e's
// ID and times. A taken name is ErrConflict.
func (s *Store) CreateEnvironment(ctx context.Context, projectID int64, e *lathe.Environment) error {
	approvers, err := json.Marshal(e.Approvers)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(t *txn) error {
		e.CreatedAt, e.UpdatedAt = t.now, t.now
		err := t.queryRow(ctx, `INSERT INTO environments (project_id, name, position, deploy_pipeline, protected, approvers, second_person, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			projectID, e.Name, e.Position, e.DeployPipeline, boolInt(e.Protected), string(approvers), boolInt(e.SecondPerson), micros(t.now), micros(t.now)).Scan(&e.ID)
		if taken(err) {
			return fmt.Errorf("environment %q already exists: %w", e.Name, lathe.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create environment %s: %w", e.Name, err)
		}
		return nil
	})
}

// UpdateEnvironment replaces the settings of the project's environment
// e.Name; it fills e's ID and times.
func (s *Store) UpdateEnvironment(ctx context.Context, projectID int64, e *lathe.Environment) error {
	approvers, err := json.Marshal(e.Approvers)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(t *txn) error {
		var created int64
		err := t.queryRow(ctx, `UPDATE environments SET position = ?, deploy_pipeline = ?, protected = ?, approvers = ?, second_person = ?, updated_at = ?
			WHERE project_id = ? AND name = ? RETURNING id, created_at`,
			e.Position, e.DeployPipeline, boolInt(e.Protected), string(approvers), boolInt(e.SecondPerson), micros(t.now), projectID, e.Name).Scan(&e.ID, &created)
		if err == sql.ErrNoRows {
			return fmt.Errorf("environment %q: %w", e.Name, lathe.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("update environment %s: %w", e.Name, err)
		}
		e.CreatedAt, e.UpdatedAt = fromMicros(created), t.now
		return nil
	})
}

// DeleteEnvironment removes an environment and its deployment history.
func (s *Store) DeleteEnvironment(ctx context.Context, projectID int64, name string) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `DELETE FROM environments WHERE project_id = ? AND name = ?`, projectID, name)
		if err != nil {
			return fmt.Errorf("delete environment %s: %w", name, err)
		}
		return mustAffect(res, "environment", name)
	})
}

// Environments lists a project's environments in promotion order.
func (s *Store) Environments(ctx context.Context, projectID int64) ([]*lathe.Environment, error) {
	return s.environments(ctx, `e.project_id = ?`, projectID)
}

// Environment returns one environment of a project by name.
func (s *Store) Environment(ctx context.Context, projectID int64, name string) (*lathe.Environment, error) {
	es, err := s.environments(ctx, `e.project_id = ? AND e.name = ?`, projectID, name)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, fmt.Errorf("environment %q: %w", name, lathe.ErrNotFound)
	}
	return es[0], nil
}

func (s *Store) environments(ctx context.Context, cond string, args ...any) ([]*lathe.Environment, error) {
	rows, err := s.query(ctx, `SELECT e.id, p.name, e.name, e.position, e.deploy_pipeline, e.protected, e.approvers, e.second_person, e.created_at, e.updated_at
		FROM environments e JOIN projects p ON p.id = e.project_id WHERE `+cond+` ORDER BY e.position, e.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Environment{}
	for rows.Next() {
		e := &lathe.Environment{}
		var approvers string
		var created, updated int64
		if err := rows.Scan(&e.ID, &e.Project, &e.Name, &e.Position, &e.DeployPipeline, &e.Protected, &approvers, &e.SecondPerson, &created, &updated); err != nil {
			return nil, fmt.Errorf("list environments: %w", err)
		}
		if err := json.Unmarshal([]byte(approvers), &e.Approvers); err != nil || e.Approvers == nil {
			e.Approvers = []string{}
		}
		e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, e)
	}
	return out, rows.Err()
}

// CreateCandidate stores candidate number n of the project's release
// version at commit, creating the release with its first candidate. runID
// is its build run, 0 for none; it returns the candidate's ID. A candidate
// number taken is ErrConflict.
func (s *Store) CreateCandidate(ctx context.Context, projectID int64, version string, n int, commit string, runID int64, by string) (int64, error) {
	var id int64
	err := s.tx(ctx, func(t *txn) error {
		var releaseID int64
		err := t.queryRow(ctx, `SELECT id FROM releases WHERE project_id = ? AND version = ?`, projectID, version).Scan(&releaseID)
		if err == sql.ErrNoRows {
			err = t.queryRow(ctx, `INSERT INTO releases (project_id, version, final, created_by, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
				projectID, version, 0, by, micros(t.now)).Scan(&releaseID)
		}
		if err != nil {
			return fmt.Errorf("create release %s: %w", version, err)
		}
		err = t.queryRow(ctx, `INSERT INTO release_candidates (release_id, number, commit_id, run_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			releaseID, n, commit, nullInt(runID), by, micros(t.now)).Scan(&id)
		if taken(err) {
			return fmt.Errorf("release candidate %s-rc%d already exists: %w", version, n, lathe.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create release candidate %s-rc%d: %w", version, n, err)
		}
		return nil
	})
	return id, err
}

// SetCandidateRun records a candidate's build run.
func (s *Store) SetCandidateRun(ctx context.Context, candidateID, runID int64) error {
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `UPDATE release_candidates SET run_id = ? WHERE id = ?`, runID, candidateID)
		return err
	})
}

// MarkFinal marks a release final.
func (s *Store) MarkFinal(ctx context.Context, projectID int64, version string) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE releases SET final = ? WHERE project_id = ? AND version = ?`, 1, projectID, version)
		if err != nil {
			return fmt.Errorf("mark release %s final: %w", version, err)
		}
		return mustAffect(res, "release", version)
	})
}

// Releases lists a project's releases, newest first, with their candidates.
func (s *Store) Releases(ctx context.Context, projectID int64) ([]*lathe.Release, error) {
	return s.releases(ctx, `rl.project_id = ?`, projectID)
}

// Release returns one release of a project with its candidates.
func (s *Store) Release(ctx context.Context, projectID int64, version string) (*lathe.Release, error) {
	rs, err := s.releases(ctx, `rl.project_id = ? AND rl.version = ?`, projectID, version)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("release %q: %w", version, lathe.ErrNotFound)
	}
	return rs[0], nil
}

func (s *Store) releases(ctx context.Context, cond string, args ...any) ([]*lathe.Release, error) {
	rows, err := s.query(ctx, `SELECT rl.id, p.name, rl.version, rl.final, rl.created_by, rl.created_at,
			c.id, c.number, c.commit_id, COALESCE(c.run_id, 0), `+candidateStatus+`, c.created_by, c.created_at
		FROM releases rl JOIN projects p ON p.id = rl.project_id
		JOIN release_candidates c ON c.release_id = rl.id LEFT JOIN runs cr ON cr.id = c.run_id
		WHERE `+cond+` ORDER BY rl.id DESC, c.number`, args...)
	if err != nil {
		return nil, fmt.Errorf("list releases: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Release{}
	var last *lathe.Release
	for rows.Next() {
		rl, c := &lathe.Release{}, &lathe.Candidate{}
		var rCreated, cCreated int64
		if err := rows.Scan(&rl.ID, &rl.Project, &rl.Version, &rl.Final, &rl.CreatedBy, &rCreated,
			&c.ID, &c.Number, &c.Commit, &c.RunID, &c.Status, &c.CreatedBy, &cCreated); err != nil {
			return nil, fmt.Errorf("list releases: %w", err)
		}
		if last == nil || last.ID != rl.ID {
			rl.CreatedAt, rl.Candidates = fromMicros(rCreated), []*lathe.Candidate{}
			out, last = append(out, rl), rl
		}
		c.Version, c.CreatedAt = last.Version+"-rc"+strconv.Itoa(c.Number), fromMicros(cCreated)
		last.Candidates = append(last.Candidates, c)
	}
	return out, rows.Err()
}

// Candidate returns the project's candidate VERSION-rcN.
func (s *Store) Candidate(ctx context.Context, projectID int64, version string, n int) (*lathe.Candidate, error) {
	rl, err := s.Release(ctx, projectID, version)
	if err != nil {
		return nil, err
	}
	for _, c := range rl.Candidates {
		if c.Number == n {
			return c, nil
		}
	}
	return nil, fmt.Errorf("release candidate %s-rc%d: %w", version, n, lathe.ErrNotFound)
}

// CreateDeployment records a deployment of candidate to environment with
// the given status (or the deploy run's, once runID is set). It refuses a
// second deployment while one started by the server is unfinished: one
// deployment at a time per environment.
func (s *Store) CreateDeployment(ctx context.Context, envID, candidateID int64, status, by string) (int64, error) {
	var id int64
	err := s.tx(ctx, func(t *txn) error {
		var busy int
		err := t.queryRow(ctx, `SELECT COUNT(*) FROM deployments d JOIN runs r ON r.id = d.run_id
			WHERE d.environment_id = ? AND r.status IN ('pending', 'queued', 'running', 'waiting_for_approval')`, envID).Scan(&busy)
		if err != nil {
			return fmt.Errorf("create deployment: %w", err)
		}
		if busy > 0 {
			return fmt.Errorf("a deployment to this environment is still running; one deployment at a time: %w", lathe.ErrConflict)
		}
		return t.queryRow(ctx, `INSERT INTO deployments (environment_id, candidate_id, status, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, envID, candidateID, status, by, micros(t.now), micros(t.now)).Scan(&id)
	})
	return id, err
}

// SetDeploymentRun records a deployment's deploy run.
func (s *Store) SetDeploymentRun(ctx context.Context, id, runID int64) error {
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `UPDATE deployments SET run_id = ?, updated_at = ? WHERE id = ?`, runID, micros(t.now), id)
		return err
	})
}

// ReportDeployment sets the status an outside CD reports for the latest
// deployment of candidate to environment, creating it when there is none.
func (s *Store) ReportDeployment(ctx context.Context, envID, candidateID int64, status, by string) (int64, error) {
	var id int64
	err := s.tx(ctx, func(t *txn) error {
		err := t.queryRow(ctx, `SELECT id FROM deployments WHERE environment_id = ? AND candidate_id = ? AND run_id IS NULL ORDER BY id DESC LIMIT 1`,
			envID, candidateID).Scan(&id)
		if err == sql.ErrNoRows {
			return t.queryRow(ctx, `INSERT INTO deployments (environment_id, candidate_id, status, created_by, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, envID, candidateID, status, by, micros(t.now), micros(t.now)).Scan(&id)
		}
		if err != nil {
			return fmt.Errorf("report deployment: %w", err)
		}
		_, err = t.exec(ctx, `UPDATE deployments SET status = ?, updated_at = ? WHERE id = ?`, status, micros(t.now), id)
		return err
	})
	return id, err
}

const deploymentColumns = `SELECT d.id, e.name, rl.version, c.number, c.commit_id, ` + deployStatus + `, COALESCE(d.run_id, 0), d.created_by, d.created_at, d.updated_at
	FROM deployments d JOIN environments e ON e.id = d.environment_id
	JOIN release_candidates c ON c.id = d.candidate_id JOIN releases rl ON rl.id = c.release_id
	LEFT JOIN runs r ON r.id = d.run_id `

// Deployments lists an environment's deployments, newest first, at most limit.
func (s *Store) Deployments(ctx context.Context, envID int64, limit int) ([]*lathe.Deployment, error) {
	return s.deployments(ctx, `WHERE d.environment_id = ? ORDER BY d.id DESC LIMIT ?`, envID, limit)
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
		AND ((d.run_id IS NULL AND d.status = 'success') OR EXISTS (SELECT 1 FROM runs r WHERE r.id = d.run_id AND r.status = 'success'))
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
		if err := rows.Scan(&d.ID, &d.Environment, &d.Version, &n, &d.Commit, &d.Status, &d.RunID, &d.CreatedBy, &created, &updated); err != nil {
			return nil, fmt.Errorf("list deployments: %w", err)
		}
		d.Version += "-rc" + strconv.Itoa(n)
		d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}

// ReportDeploymentStatus sets a deployment's own status (one without a run,
// or one whose run could not start).
func (s *Store) ReportDeploymentStatus(ctx context.Context, id int64, status string) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE deployments SET status = ?, updated_at = ? WHERE id = ?`, status, micros(t.now), id)
		if err != nil {
			return fmt.Errorf("deployment %d: %w", id, err)
		}
		return mustAffect(res, "deployment", id)
	})
}

// taken reports whether err is a unique key taken, on either engine.
func taken(err error) bool {
	return err != nil && (uniqueViolation(err) || strings.Contains(err.Error(), "UNIQUE constraint failed"))
}

// SuccessfulDeployments lists an environment's successful deployments,
// newest first, at most limit.
func (s *Store) SuccessfulDeployments(ctx context.Context, envID int64, limit int) ([]*lathe.Deployment, error) {
	return s.deployments(ctx, `WHERE d.environment_id = ? AND `+deployStatus+` = 'success' ORDER BY d.id DESC LIMIT ?`, envID, limit)
}
