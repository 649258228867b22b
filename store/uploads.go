package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// Uploads are the files jobs of a run hand to each other. The archives are
// files the API keeps in the data directory; the store records, per run and
// name, which job owns the name and what its archive must hash to. Only
// the agent holding a running attempt uploads or downloads, and only
// within that attempt's run.

// UploadScope is the run and job an agent's running attempt belongs to:
// where its uploads go and where its downloads come from.
type UploadScope struct {
	RunID, JobID int64
}

// AttemptScope checks that agentID holds attemptID and that the attempt is
// running (ErrForbidden and ErrFenced otherwise, as for reports) and
// returns its run and job.
func (s *Store) AttemptScope(ctx context.Context, agentID, attemptID int64) (UploadScope, error) {
	var sc UploadScope
	var owner int64
	var status lathe.Status
	err := s.queryRow(ctx, `SELECT a.agent_id, a.status, a.job_id, j.run_id FROM attempts a JOIN jobs j ON j.id = a.job_id
		WHERE a.id = ?`, attemptID).Scan(&owner, &status, &sc.JobID, &sc.RunID)
	if err != nil {
		return sc, notFound(err, "attempt", attemptID)
	}
	return sc, attemptHeld(attemptID, agentID, owner, status)
}

// attemptHeld is the fence every upload request passes: the caller's
// attempt, still running.
func attemptHeld(attemptID, agentID, owner int64, status lathe.Status) error {
	if owner != agentID {
		return forbiddenAttempt(attemptID)
	}
	if status != lathe.StatusRunning {
		return fmt.Errorf("attempt %d is %s: %w", attemptID, status, lathe.ErrFenced)
	}
	return nil
}

// ErrUploadQuota is an upload that would take its project's uploads over
// the project's quota.
var ErrUploadQuota = errors.New("project upload quota exceeded")

// ProjectUploadBytes is how many bytes the uploads of the project of run
// runID take, leaving out the upload that one named name would replace.
func (s *Store) ProjectUploadBytes(ctx context.Context, runID int64, name string) (int64, error) {
	return projectUploadBytes(ctx, s, runID, name)
}

func projectUploadBytes(ctx context.Context, q querier, runID int64, name string) (int64, error) {
	var used int64
	err := q.queryRow(ctx, `SELECT COALESCE(SUM(u.size), 0) FROM uploads u JOIN runs r ON r.id = u.run_id
		WHERE r.project_id = (SELECT project_id FROM runs WHERE id = ?) AND NOT (u.run_id = ? AND u.name = ?)`,
		runID, runID, name).Scan(&used)
	if err != nil {
		return 0, fmt.Errorf("uploads of the project of run %d: %w", runID, err)
	}
	return used, nil
}

// CheckUploadQuota refuses (ErrUploadQuota) an upload of size bytes named
// name in run runID that would take its project's uploads over quota bytes.
func CheckUploadQuota(used, size, quota int64) error {
	if used+size > quota {
		return fmt.Errorf("the project's uploads take %d bytes; %d more would pass its quota of %d bytes "+
			"(uploads go when their run's project is deleted; an operator can raise --upload-quota): %w", used, size, quota, ErrUploadQuota)
	}
	return nil
}

// RunsExist returns which of ids name a run (the rest were deleted with
// their project), for removing what those runs left on disk.
func (s *Store) RunsExist(ctx context.Context, ids []int64) (map[int64]bool, error) {
	return s.idsExist(ctx, "runs", ids)
}

// ProjectsExist returns which of ids name a project, for removing what
// deleted projects left on disk (their caches).
func (s *Store) ProjectsExist(ctx context.Context, ids []int64) (map[int64]bool, error) {
	return s.idsExist(ctx, "projects", ids)
}

// idsExist returns which of ids are rows of table (a constant).
func (s *Store) idsExist(ctx context.Context, table string, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		rows, err := s.query(ctx, `SELECT id FROM `+table+` WHERE id IN (`+placeholders(len(chunk))+`)`, idArgs(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", table, err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PutUpload records u (RunID, Name, AttemptID, Size, SHA256) as the upload
// of its name in its run, made by agentID's running attempt u.AttemptID,
// and returns the upload it replaced, if any. It refuses an upload that
// would take the project's uploads over quota bytes (ErrUploadQuota). A name belongs to the job
// that first uploaded it in the run: a later upload of that job (another
// step, or a later attempt) replaces it, one of another job is a conflict,
// so two jobs cannot race to decide what a download gets.
func (s *Store) PutUpload(ctx context.Context, agentID int64, u *lathe.Upload, quota int64) (*lathe.Upload, error) {
	var prev *lathe.Upload
	err := s.tx(ctx, func(t *txn) error {
		// Under the run's lock, like every writer of an attempt's status:
		// an attempt that ends (lost, canceled) meanwhile is fenced here.
		if err := t.lockRun(ctx, u.RunID); err != nil {
			return err
		}
		var owner, runID int64
		var status lathe.Status
		err := t.queryRow(ctx, `SELECT a.agent_id, a.status, a.job_id, a.number, j.run_id, j.name
			FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE a.id = ?`, u.AttemptID).
			Scan(&owner, &status, &u.JobID, &u.Attempt, &runID, &u.Job)
		if err != nil {
			return notFound(err, "attempt", u.AttemptID)
		}
		if runID != u.RunID {
			return fmt.Errorf("attempt %d is not of run %d: %w", u.AttemptID, u.RunID, lathe.ErrInvalid)
		}
		if err := attemptHeld(u.AttemptID, agentID, owner, status); err != nil {
			return err
		}
		used, err := projectUploadBytes(ctx, t, u.RunID, u.Name)
		if err != nil {
			return err
		}
		if err := CheckUploadQuota(used, u.Size, quota); err != nil {
			return err
		}
		old, err := scanUpload(t.queryRow(ctx, `SELECT `+uploadCols+` `+uploadFrom+` WHERE u.run_id = ? AND u.name = ?`, u.RunID, u.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("upload %q of run %d: %w", u.Name, u.RunID, err)
		case old.JobID != u.JobID:
			return fmt.Errorf("job %s of this run already uploaded %q; name the upload of job %s differently: %w",
				old.Job, u.Name, u.Job, lathe.ErrConflict)
		default:
			prev = old
		}
		u.CreatedAt = t.now
		_, err = t.exec(ctx, `INSERT INTO uploads (run_id, name, job_id, attempt_id, size, sha256, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (run_id, name) DO UPDATE SET attempt_id = excluded.attempt_id, size = excluded.size,
				sha256 = excluded.sha256, created_at = excluded.created_at`,
			u.RunID, u.Name, u.JobID, u.AttemptID, u.Size, u.SHA256, micros(t.now))
		if err != nil {
			return fmt.Errorf("record upload %q of run %d: %w", u.Name, u.RunID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return prev, nil
}

// Upload returns the upload of a name in a run: one of its own jobs made,
// or else one that a job a re-run carried over made in its own run.
func (s *Store) Upload(ctx context.Context, runID int64, name string) (*lathe.Upload, error) {
	u, err := scanUpload(s.queryRow(ctx, `SELECT `+uploadCols+` `+uploadFrom+` WHERE u.run_id = ? AND u.name = ?`, runID, name))
	if errors.Is(err, sql.ErrNoRows) {
		u, err = scanUpload(s.queryRow(ctx, `SELECT `+uploadCols+` `+uploadFrom+`
			WHERE u.name = ? AND u.job_id IN `+carriedJobs+` ORDER BY u.created_at DESC LIMIT 1`, name, runID))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %d has no upload named %q: %w", runID, name, lathe.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("upload %q of run %d: %w", name, runID, err)
	}
	return u, nil
}

// Uploads lists a run's uploads by name: its own jobs' and those of the jobs
// a re-run carried over (an own upload of the same name wins).
func (s *Store) Uploads(ctx context.Context, runID int64) ([]*lathe.Upload, error) {
	var id int64
	if err := s.queryRow(ctx, `SELECT id FROM runs WHERE id = ?`, runID).Scan(&id); err != nil {
		return nil, notFound(err, "run", runID)
	}
	rows, err := s.query(ctx, `SELECT `+uploadCols+` `+uploadFrom+` WHERE u.run_id = ? OR u.job_id IN `+carriedJobs+`
		ORDER BY u.name, u.run_id = ? DESC`, runID, runID, runID)
	if err != nil {
		return nil, fmt.Errorf("uploads of run %d: %w", runID, err)
	}
	defer rows.Close()
	out := []*lathe.Upload{}
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, fmt.Errorf("uploads of run %d: %w", runID, err)
		}
		if n := len(out); n > 0 && out[n-1].Name == u.Name {
			continue
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// carriedJobs selects the jobs that ran in earlier runs for the jobs a
// re-run (the run ?) carried over: their uploads are the re-run's too.
const carriedJobs = `(SELECT c.carried_from FROM jobs c WHERE c.run_id = ? AND c.carried_from IS NOT NULL)`

const (
	uploadCols = `u.run_id, u.name, u.job_id, j.name, u.attempt_id, a.number, u.size, u.sha256, u.created_at`
	uploadFrom = `FROM uploads u JOIN jobs j ON j.id = u.job_id JOIN attempts a ON a.id = u.attempt_id`
)

func scanUpload(row interface{ Scan(...any) error }) (*lathe.Upload, error) {
	var u lathe.Upload
	var created int64
	if err := row.Scan(&u.RunID, &u.Name, &u.JobID, &u.Job, &u.AttemptID, &u.Attempt, &u.Size, &u.SHA256, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}
