package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// AddIssues stores the findings of one file of job jobID. A finding is new
// when the previous run of the pipeline on the branch that got a findings
// report from a job of the same name did not have it (by fingerprint);
// with no such run, every finding is new.
func (s *Store) AddIssues(ctx context.Context, jobID int64, file string, issues []lathe.IssueInput) error {
	return s.tx(ctx, func(t *txn) error {
		c, err := t.jobContext(ctx, jobID)
		if err != nil {
			return err
		}
		if err := t.addReport(ctx, c.runID, jobID, "issues", file, len(issues), ""); err != nil {
			return err
		}
		if len(issues) == 0 {
			return nil
		}
		old, err := t.previousFingerprints(ctx, c)
		if err != nil {
			return err
		}
		rows := make([][]any, 0, len(issues))
		for _, is := range issues {
			rows = append(rows, []any{c.runID, jobID, is.File, is.Line, is.Column, is.Severity, is.Message, is.Symbol,
				is.Fingerprint, boolInt(!old[is.Fingerprint])})
		}
		err = t.execBatches(ctx, `INSERT INTO run_issues (run_id, job_id, file, line, col, severity, message, symbol, fingerprint, is_new) VALUES`,
			``, 10, rows)
		if err != nil {
			return fmt.Errorf("store issues of job %d: %w", jobID, err)
		}
		return nil
	})
}

// previousFingerprints are the findings of the same job in the previous
// run of the pipeline on the branch that reported findings.
func (t *txn) previousFingerprints(ctx context.Context, c jobContext) (map[string]bool, error) {
	var prevJob int64
	err := t.queryRow(ctx, `SELECT j.id FROM runs r JOIN jobs j ON j.run_id = r.id
		WHERE r.project_id = ? AND r.pipeline = ? AND r.branch = ? AND r.id < ? AND j.name = ?
			AND EXISTS (SELECT 1 FROM job_reports jr WHERE jr.job_id = j.id AND jr.kind = 'issues')
		ORDER BY r.id DESC LIMIT 1`, c.projectID, c.pipeline, c.br, c.runID, c.job).Scan(&prevJob)
	if errors.Is(err, sql.ErrNoRows) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("previous run of job %s: %w", c.job, err)
	}
	rows, err := t.query(ctx, `SELECT fingerprint FROM run_issues WHERE job_id = ?`, prevJob)
	if err != nil {
		return nil, fmt.Errorf("issues of job %d: %w", prevJob, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, err
		}
		out[f] = true
	}
	return out, rows.Err()
}

// IssueFilter selects a run's issues (Kraken's run issues filters).
type IssueFilter struct {
	RunID int64
	// Severities keeps issues of any of them (none: all).
	Severities []string
	// File, Message and Symbol keep issues whose field contains them.
	File, Message, Symbol string
	// Job keeps the issues of the job of that name.
	Job string
	// New, when set, keeps the new issues (true) or the old ones (false).
	New    *bool
	Before int64
	Limit  int
}

// RunIssues lists a run's issues, newest stored first, and how many there
// are in all and how many are new (over the whole run).
func (s *Store) RunIssues(ctx context.Context, f IssueFilter) (lathe.Page[*lathe.RunIssue], int, int, error) {
	var none lathe.Page[*lathe.RunIssue]
	if _, err := s.runExists(ctx, f.RunID); err != nil {
		return none, 0, 0, err
	}
	var total, fresh int
	if err := s.queryRow(ctx, `SELECT count(*), COALESCE(SUM(is_new), 0) FROM run_issues WHERE run_id = ?`, f.RunID).Scan(&total, &fresh); err != nil {
		return none, 0, 0, fmt.Errorf("issues of run %d: %w", f.RunID, err)
	}
	where := []string{"i.run_id = ?"}
	args := []any{f.RunID}
	if len(f.Severities) > 0 {
		where = append(where, "i.severity IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Severities)), ", ")+")")
		for _, v := range f.Severities {
			args = append(args, v)
		}
	}
	for col, v := range map[string]string{"i.file": f.File, "i.message": f.Message, "i.symbol": f.Symbol} {
		if v != "" {
			where = append(where, `lower(`+col+`) LIKE ? ESCAPE '\'`)
			args = append(args, "%"+likeEscape(strings.ToLower(v))+"%")
		}
	}
	if f.Job != "" {
		where, args = append(where, "j.name = ?"), append(args, f.Job)
	}
	if f.New != nil {
		where, args = append(where, "i.is_new = ?"), append(args, boolInt(*f.New))
	}
	if f.Before > 0 {
		where, args = append(where, "i.id < ?"), append(args, f.Before)
	}
	rows, err := s.query(ctx, `SELECT i.id, i.run_id, i.job_id, j.name, i.file, i.line, i.col, i.severity, i.message, i.symbol, i.is_new
		FROM run_issues i JOIN jobs j ON j.id = i.job_id`+whereClause(where)+` ORDER BY i.id DESC LIMIT ?`, append(args, f.Limit+1)...)
	if err != nil {
		return none, 0, 0, fmt.Errorf("issues of run %d: %w", f.RunID, err)
	}
	defer rows.Close()
	var items []*lathe.RunIssue
	for rows.Next() {
		var is lathe.RunIssue
		var isNew int
		if err := rows.Scan(&is.ID, &is.RunID, &is.JobID, &is.Job, &is.File, &is.Line, &is.Column, &is.Severity, &is.Message,
			&is.Symbol, &isNew); err != nil {
			return none, 0, 0, err
		}
		is.New = isNew != 0
		items = append(items, &is)
	}
	return page(items, f.Limit, func(is *lathe.RunIssue) int64 { return is.ID }), total, fresh, rows.Err()
}
