package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// Artifacts are the files jobs kept (their `artifacts:`). The content is a
// blob the API keeps; the store records, per job and path, which attempt
// sent it, what it must hash to, and when retention removes it.

// dayMicros is the unit of retention policies, in microseconds as times are stored.
const dayMicros = int64(24 * time.Hour / time.Microsecond)

// PutArtifact records a (AttemptID, Path, Size, SHA256, BlobKey) as the artifact of
// its path in its job, sent by agentID's running attempt, and returns the
// artifact it replaced (the same path of the same job, from this attempt
// or an earlier one), if any. expireIn > 0 sets when it expires; otherwise
// its branch's retention policy for its kind of run does, if any (and a
// policy changed later applies to it; never to one with expireIn). It
// refuses an artifact that would take the project's uploads and artifacts
// over quota bytes (ErrUploadQuota).
func (s *Store) PutArtifact(ctx context.Context, agentID int64, a *lathe.Artifact, expireIn time.Duration, quota int64) (*lathe.Artifact, error) {
	var prev *lathe.Artifact
	err := s.tx(ctx, func(t *txn) error {
		var runID int64
		if err := t.queryRow(ctx, `SELECT j.run_id FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE a.id = ?`, a.AttemptID).Scan(&runID); err != nil {
			return notFound(err, "attempt", a.AttemptID)
		}
		// Under the run's lock, like every writer of an attempt's status.
		if err := t.lockRun(ctx, runID); err != nil {
			return err
		}
		var owner int64
		var status lathe.Status
		var event string
		var days sql.NullInt64
		err := t.queryRow(ctx, `SELECT a.agent_id, a.status, a.job_id, a.number, j.name, j.run_id, r.event,
				CASE WHEN r.event = 'manual' THEN b.retain_manual_artifacts ELSE b.retain_ci_artifacts END
			FROM attempts a JOIN jobs j ON j.id = a.job_id JOIN runs r ON r.id = j.run_id
			LEFT JOIN branches b ON b.project_id = r.project_id AND b.name = r.branch
			WHERE a.id = ?`, a.AttemptID).Scan(&owner, &status, &a.JobID, &a.Attempt, &a.Job, &a.RunID, &event, &days)
		if err != nil {
			return notFound(err, "attempt", a.AttemptID)
		}
		if err := attemptHeld(a.AttemptID, agentID, owner, status); err != nil {
			return err
		}
		old, err := scanArtifact(t.queryRow(ctx, `SELECT `+artifactCols+` `+artifactFrom+` WHERE x.job_id = ? AND x.path = ?`, a.JobID, a.Path))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("artifact %q of job %d: %w", a.Path, a.JobID, err)
		default:
			prev = old
		}
		used, err := projectUploadBytes(ctx, t, a.RunID, "")
		if err != nil {
			return err
		}
		var kept int64
		if err := t.queryRow(ctx, `SELECT COALESCE(SUM(x.size), 0) FROM artifacts x JOIN runs r ON r.id = x.run_id
			WHERE r.project_id = (SELECT project_id FROM runs WHERE id = ?) AND x.expired_at IS NULL AND NOT (x.job_id = ? AND x.path = ?)`,
			a.RunID, a.JobID, a.Path).Scan(&kept); err != nil {
			return fmt.Errorf("artifacts of the project of run %d: %w", a.RunID, err)
		}
		if err := CheckUploadQuota(used+kept, a.Size, quota); err != nil {
			return err
		}
		a.CreatedAt, a.ExpiresAt, a.Expired = t.now, nil, false
		switch {
		case expireIn > 0:
			at := t.now.Add(expireIn)
			a.ExpiresAt = &at
		case days.Valid:
			at := t.now.Add(time.Duration(days.Int64) * 24 * time.Hour)
			a.ExpiresAt = &at
		}
		var own any // the job's expire_in, which the branch's policy does not override
		if expireIn > 0 {
			own = int64(expireIn / time.Second)
		}
		err = t.queryRow(ctx, `INSERT INTO artifacts (run_id, job_id, attempt_id, path, size, sha256, blob_key, created_at, expires_at, expire_in)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (job_id, path) DO UPDATE SET attempt_id = excluded.attempt_id, size = excluded.size, sha256 = excluded.sha256,
				blob_key = excluded.blob_key, created_at = excluded.created_at, expires_at = excluded.expires_at,
				expire_in = excluded.expire_in, expired_at = NULL
			RETURNING id`, a.RunID, a.JobID, a.AttemptID, a.Path, a.Size, a.SHA256, a.BlobKey, micros(t.now), nullMicros(a.ExpiresAt), own).Scan(&a.ID)
		if err != nil {
			return fmt.Errorf("record artifact %q of job %d: %w", a.Path, a.JobID, err)
		}
		return t.queryRow(ctx, `SELECT r.project_id, r.pipeline, COALESCE(r.branch, '') FROM runs r WHERE r.id = ?`, a.RunID).
			Scan(&a.ProjectID, &a.Pipeline, &a.Branch)
	})
	if err != nil {
		return nil, err
	}
	return prev, nil
}

// Artifact returns one artifact by ID.
func (s *Store) Artifact(ctx context.Context, id int64) (*lathe.Artifact, error) {
	a, err := scanArtifact(s.queryRow(ctx, `SELECT `+artifactCols+` `+artifactFrom+` WHERE x.id = ?`, id))
	if err != nil {
		return nil, notFound(err, "artifact", id)
	}
	return a, nil
}

// RunArtifacts lists a run's artifacts by job and path: its own jobs' and
// those of the jobs a re-run carried over. job, when set, keeps one job's.
func (s *Store) RunArtifacts(ctx context.Context, runID int64, job string) ([]*lathe.Artifact, error) {
	var id int64
	if err := s.queryRow(ctx, `SELECT id FROM runs WHERE id = ?`, runID).Scan(&id); err != nil {
		return nil, notFound(err, "run", runID)
	}
	q := `SELECT ` + artifactCols + ` ` + artifactFrom + ` WHERE (x.run_id = ? OR x.job_id IN ` + carriedJobs + `)`
	args := []any{runID, runID}
	if job != "" {
		q += ` AND j.name = ?`
		args = append(args, job)
	}
	return s.artifactList(ctx, q+` ORDER BY j.name, x.path`, args...)
}

// ArtifactFilter selects a project's artifacts across runs (Kraken's flow
// artifacts): by branch, pipeline and exact path, newest first.
type ArtifactFilter struct {
	Branch, Pipeline, Path string
	Before                 int64
	Limit                  int
}

// ProjectArtifacts pages through a project's artifacts, newest first.
func (s *Store) ProjectArtifacts(ctx context.Context, projectID int64, f ArtifactFilter) (lathe.Page[*lathe.Artifact], error) {
	conds, args := []string{"r.project_id = ?"}, []any{projectID}
	for _, c := range []struct{ col, v string }{{"r.branch", f.Branch}, {"r.pipeline", f.Pipeline}, {"x.path", f.Path}} {
		if c.v != "" {
			conds, args = append(conds, c.col+" = ?"), append(args, c.v)
		}
	}
	if f.Before > 0 {
		conds, args = append(conds, "x.id < ?"), append(args, f.Before)
	}
	list, err := s.artifactList(ctx, `SELECT `+artifactCols+` `+artifactFrom+whereClause(conds)+` ORDER BY x.id DESC LIMIT ?`,
		append(args, f.Limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.Artifact]{}, err
	}
	return page(list, f.Limit, func(a *lathe.Artifact) int64 { return a.ID }), nil
}

func (s *Store) artifactList(ctx context.Context, q string, args ...any) ([]*lathe.Artifact, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("artifacts: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Artifact{}
	for rows.Next() {
		a, err := scanArtifact(rows)
		if err != nil {
			return nil, fmt.Errorf("artifacts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const (
	artifactCols = `x.id, x.run_id, r.project_id, r.pipeline, COALESCE(r.branch, ''), x.job_id, j.name, x.attempt_id, a.number,
	x.path, x.size, x.sha256, x.blob_key, x.created_at, x.expires_at, x.expired_at`
	artifactFrom = `FROM artifacts x JOIN jobs j ON j.id = x.job_id JOIN attempts a ON a.id = x.attempt_id JOIN runs r ON r.id = x.run_id`
)

func scanArtifact(row interface{ Scan(...any) error }) (*lathe.Artifact, error) {
	var a lathe.Artifact
	var created int64
	var expires, expired sql.NullInt64
	if err := row.Scan(&a.ID, &a.RunID, &a.ProjectID, &a.Pipeline, &a.Branch, &a.JobID, &a.Job, &a.AttemptID, &a.Attempt,
		&a.Path, &a.Size, &a.SHA256, &a.BlobKey, &created, &expires, &expired); err != nil {
		return nil, err
	}
	a.CreatedAt, a.ExpiresAt, a.Expired = fromMicros(created), fromNullMicros(expires), expired.Valid
	return &a, nil
}
