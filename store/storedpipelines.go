package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

const storedPipelineCols = `id, project_id, name, yaml, updated_by, created_at, updated_at`

func scanStoredPipeline(row interface{ Scan(...any) error }) (*lathe.StoredPipeline, error) {
	var sp lathe.StoredPipeline
	var created, updated int64
	if err := row.Scan(&sp.ID, &sp.ProjectID, &sp.Name, &sp.YAML, &sp.UpdatedBy, &created, &updated); err != nil {
		return nil, err
	}
	sp.CreatedAt, sp.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &sp, nil
}

// PutStoredPipeline stores a project's pipeline by its name, replacing the
// YAML of one stored before; created says whether it is new. It returns
// the pipeline as stored.
func (s *Store) PutStoredPipeline(ctx context.Context, in lathe.StoredPipeline) (sp *lathe.StoredPipeline, created bool, err error) {
	err = s.tx(ctx, func(t *txn) error {
		var id int64
		err := t.queryRow(ctx, `SELECT id FROM stored_pipelines WHERE project_id = ? AND name = ?`, in.ProjectID, in.Name).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created = true
			sp, err = scanStoredPipeline(t.queryRow(ctx, `INSERT INTO stored_pipelines (project_id, name, yaml, updated_by, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?) RETURNING `+storedPipelineCols,
				in.ProjectID, in.Name, in.YAML, in.UpdatedBy, micros(t.now), micros(t.now)))
		case err == nil:
			sp, err = scanStoredPipeline(t.queryRow(ctx, `UPDATE stored_pipelines SET yaml = ?, updated_by = ?, updated_at = ?
				WHERE id = ? RETURNING `+storedPipelineCols, in.YAML, in.UpdatedBy, micros(t.now), id))
		}
		if err != nil {
			return err
		}
		return t.rereadSchedules(ctx, in.ProjectID)
	})
	if err != nil {
		return nil, false, fmt.Errorf("store pipeline %s: %w", in.Name, err)
	}
	return sp, created, nil
}

// StoredPipelines lists a project's stored pipelines by name.
func (s *Store) StoredPipelines(ctx context.Context, projectID int64) ([]*lathe.StoredPipeline, error) {
	rows, err := s.query(ctx, `SELECT `+storedPipelineCols+` FROM stored_pipelines WHERE project_id = ? ORDER BY name`, projectID)
	if err != nil {
		return nil, fmt.Errorf("stored pipelines of project %d: %w", projectID, err)
	}
	defer rows.Close()
	out := []*lathe.StoredPipeline{}
	for rows.Next() {
		sp, err := scanStoredPipeline(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, rows.Err()
}

// StoredPipeline returns one stored pipeline of a project.
func (s *Store) StoredPipeline(ctx context.Context, projectID int64, name string) (*lathe.StoredPipeline, error) {
	sp, err := scanStoredPipeline(s.queryRow(ctx, `SELECT `+storedPipelineCols+` FROM stored_pipelines WHERE project_id = ? AND name = ?`,
		projectID, name))
	if err != nil {
		return nil, notFound(err, "stored pipeline", name)
	}
	return sp, nil
}

// DeleteStoredPipeline removes a project's stored pipeline; its runs stay.
func (s *Store) DeleteStoredPipeline(ctx context.Context, projectID int64, name string) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `DELETE FROM stored_pipelines WHERE project_id = ? AND name = ?`, projectID, name)
		if err != nil {
			return fmt.Errorf("delete stored pipeline %s: %w", name, err)
		}
		if err := mustAffect(res, "stored pipeline", name); err != nil {
			return err
		}
		return t.rereadSchedules(ctx, projectID)
	})
}

// rereadSchedules has the schedule loop read the project's schedules again
// (see BranchesToRead): its stored pipelines changed, and theirs with them.
func (t *txn) rereadSchedules(ctx context.Context, projectID int64) error {
	_, err := t.exec(ctx, `UPDATE branches SET schedules_commit = '' WHERE project_id = ?`, projectID)
	return err
}
