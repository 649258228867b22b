package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// SetConfigErrors records the problems met reading the pipeline files of a
// branch at commit, replacing what was recorded before; no problems clears
// the branch's record.
func (s *Store) SetConfigErrors(ctx context.Context, projectID int64, branch, commit string, problems []lathe.ConfigProblem) error {
	return s.tx(ctx, func(t *txn) error {
		if len(problems) == 0 {
			_, err := t.exec(ctx, `DELETE FROM config_errors WHERE project_id = ? AND branch = ?`, projectID, branch)
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO config_errors (project_id, branch, commit_sha, errors, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (project_id, branch) DO UPDATE SET commit_sha = excluded.commit_sha, errors = excluded.errors,
				updated_at = excluded.updated_at`,
			projectID, branch, commit, jsonText(problems), micros(t.now))
		if err != nil {
			return fmt.Errorf("record config errors of %s: %w", branch, err)
		}
		return nil
	})
}

// ConfigErrors lists the recorded problems of a project's branches (of one
// branch when branch is set), by branch name.
func (s *Store) ConfigErrors(ctx context.Context, projectID int64, branch string) ([]*lathe.ConfigErrors, error) {
	q, args := `SELECT c.project_id, p.name, c.branch, c.commit_sha, c.errors, c.updated_at
		FROM config_errors c JOIN projects p ON p.id = c.project_id WHERE c.project_id = ?`, []any{projectID}
	if branch != "" {
		q, args = q+` AND c.branch = ?`, append(args, branch)
	}
	rows, err := s.query(ctx, q+` ORDER BY c.branch`, args...)
	if err != nil {
		return nil, fmt.Errorf("config errors: %w", err)
	}
	defer rows.Close()
	out := []*lathe.ConfigErrors{}
	for rows.Next() {
		var c lathe.ConfigErrors
		var errs string
		var updated int64
		if err := rows.Scan(&c.ProjectID, &c.Project, &c.Branch, &c.Commit, &errs, &updated); err != nil {
			return nil, err
		}
		if err := fromJSON(errs, &c.Errors); err != nil {
			return nil, fmt.Errorf("config errors of %s: %w", c.Branch, err)
		}
		c.UpdatedAt = fromMicros(updated)
		out = append(out, &c)
	}
	return out, rows.Err()
}
