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
		return fmt.Errorf("attempt %d belongs to another agent: %w", attemptID, lathe.ErrForbidden)
	}
	if status != lathe.StatusRunning {
		return fmt.Errorf("attempt %d is %s: %w", attemptID, status, lathe.ErrFenced)
	}
	return nil
}

// PutUpload records u (RunID, Name, AttemptID, Size, SHA256) as the upload
// of its name in its run, made by agentID's running attempt u.AttemptID,
// and returns the upload it replaced, if any. A name belongs to the job
// that first uploaded it in the run: a later upload of that job (another
// step, or a later attempt) replaces it, one of another job is a conflict,
// so two jobs cannot race to decide what a download gets.
func (s *Store) PutUpload(ctx context.Context, agentID int64, u *lathe.Upload) (*lathe.Upload, error) {
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

// Upload returns the upload of a name in a run.
func (s *Store) Upload(ctx context.Context, runID int64, name string) (*lathe.Upload, error) {
	u, err := scanUpload(s.queryRow(ctx, `SELECT `+uploadCols+` `+uploadFrom+` WHERE u.run_id = ? AND u.name = ?`, runID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %d has no upload named %q: %w", runID, name, lathe.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("upload %q of run %d: %w", name, runID, err)
	}
	return u, nil
}

// Uploads lists a run's uploads by name.
func (s *Store) Uploads(ctx context.Context, runID int64) ([]*lathe.Upload, error) {
	var id int64
	if err := s.queryRow(ctx, `SELECT id FROM runs WHERE id = ?`, runID).Scan(&id); err != nil {
		return nil, notFound(err, "run", runID)
	}
	rows, err := s.query(ctx, `SELECT `+uploadCols+` `+uploadFrom+` WHERE u.run_id = ? ORDER BY u.name`, runID)
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
		out = append(out, u)
	}
	return out, rows.Err()
}

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
