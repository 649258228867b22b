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

// Environments, releases and candidates (issue 18); deployments are in
// deployments.go. A candidate with a build run takes its status from the
// run when it is read, so the run's state machine is the only one: nothing
// here writes a run's or a job's status.

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
		FROM environments e JOIN projects p ON p.id = e.project_id WHERE `+cond+` ORDER BY p.id DESC, e.position, e.name`, args...)
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

// CheckNewCandidate says whether the project's release version may take
// candidate number n: ErrConflict when the release is final or the number
// is taken. Ask before starting the candidate's build, which would be
// left running for nothing; CreateCandidate asks again.
func (s *Store) CheckNewCandidate(ctx context.Context, projectID int64, version string, n int) error {
	_, err := checkNewCandidate(ctx, s, projectID, version, n)
	return err
}

// checkNewCandidate is CheckNewCandidate; it returns the release's ID, 0
// when there is no release version yet.
func checkNewCandidate(ctx context.Context, q querier, projectID int64, version string, n int) (int64, error) {
	var releaseID int64
	var final bool
	var taken int
	err := q.queryRow(ctx, `SELECT rl.id, rl.final, (SELECT COUNT(*) FROM release_candidates c WHERE c.release_id = rl.id AND c.number = ?)
		FROM releases rl WHERE rl.project_id = ? AND rl.version = ?`, n, projectID, version).Scan(&releaseID, &final, &taken)
	switch {
	case err == sql.ErrNoRows:
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("release %s: %w", version, err)
	case final:
		return 0, fmt.Errorf("release %s is final: it takes no more candidates; cut a new version: %w", version, lathe.ErrConflict)
	case taken > 0:
		return 0, fmt.Errorf("release candidate %s-rc%d already exists: %w", version, n, lathe.ErrConflict)
	}
	return releaseID, nil
}

// CreateCandidate stores candidate number n of the project's release
// version at commit, creating the release with its first candidate. runID
// is its build run, 0 for none; it returns the candidate's ID. A final
// release or a candidate number taken is ErrConflict.
func (s *Store) CreateCandidate(ctx context.Context, projectID int64, version string, n int, commit string, runID int64, by string) (int64, error) {
	var id int64
	err := s.tx(ctx, func(t *txn) error {
		releaseID, err := checkNewCandidate(ctx, t, projectID, version, n)
		if err != nil {
			return err
		}
		if releaseID == 0 {
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
		return t.linkJobDeployments(ctx, runID, id)
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

// Releases lists a page of a project's releases, newest first, each with
// all its candidates: at most limit releases with IDs below before (0: from
// the newest); the page's Next is the last one's ID, to pass as before.
func (s *Store) Releases(ctx context.Context, projectID, before int64, limit int) (lathe.Page[*lathe.Release], error) {
	if before <= 0 {
		before = 1 << 62
	}
	rs, err := s.releases(ctx, `rl.id IN (SELECT id FROM releases WHERE project_id = ? AND id < ? ORDER BY id DESC LIMIT ?)`, projectID, before, limit+1)
	if err != nil {
		return lathe.Page[*lathe.Release]{}, err
	}
	return page(rs, limit, func(rl *lathe.Release) int64 { return rl.ID }), nil
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

// taken reports whether err is a unique key taken, on either engine.
func taken(err error) bool {
	return err != nil && (uniqueViolation(err) || strings.Contains(err.Error(), "UNIQUE constraint failed"))
}
