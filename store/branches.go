package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// Branches: the branches of a project that runs and forge hooks have shown
// the server, with the head commit last seen and the branch's settings.
// The schedule loop reads a branch's pipelines again only when its head
// moved (see BranchesToRead).

// BranchMoved records that a project's branch points at commit now: the
// branch is tracked from here on (created on first sight), its head and
// last-seen time are updated. Runs started on the branch call it, and so
// may forge hooks: it is how the schedule loop learns that a branch's
// pipelines may have changed without asking the remote.
func (s *Store) BranchMoved(ctx context.Context, projectID int64, branch, commit string) error {
	if branch == "" || commit == "" {
		return fmt.Errorf("branch moved: branch %q at commit %q: both are needed: %w", branch, commit, lathe.ErrInvalid)
	}
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `INSERT INTO branches (project_id, name, head_commit, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (project_id, name) DO UPDATE SET head_commit = excluded.head_commit, last_seen_at = excluded.last_seen_at`,
			projectID, branch, commit, micros(t.now), micros(t.now))
		if err != nil {
			return fmt.Errorf("branch %s moved to %.12s: %w", branch, commit, err)
		}
		return nil
	})
}

const branchCols = `b.id, b.project_id, p.name, b.name, b.head_commit, b.created_at, b.last_seen_at, b.env, b.keep_runs, b.keep_days,
	b.retain_ci_logs, b.retain_ci_artifacts, b.retain_manual_logs, b.retain_manual_artifacts`

func scanBranch(row interface{ Scan(...any) error }) (*lathe.Branch, error) {
	var b lathe.Branch
	var created, seen int64
	var env string
	var keepRuns, keepDays sql.NullInt64
	var ret [4]sql.NullInt64
	if err := row.Scan(&b.ID, &b.ProjectID, &b.Project, &b.Name, &b.HeadCommit, &created, &seen, &env, &keepRuns, &keepDays,
		&ret[0], &ret[1], &ret[2], &ret[3]); err != nil {
		return nil, err
	}
	b.CreatedAt, b.LastSeenAt = fromMicros(created), fromMicros(seen)
	if err := fromJSON(env, &b.Settings.Env); err != nil {
		return nil, fmt.Errorf("branch %s env: %w", b.Name, err)
	}
	b.Settings.KeepRuns, b.Settings.KeepDays = optionalInt(keepRuns), optionalInt(keepDays)
	rt := &b.Settings.Retention
	rt.CILogs, rt.CIArtifacts, rt.ManualLogs, rt.ManualArtifacts = optionalInt(ret[0]), optionalInt(ret[1]), optionalInt(ret[2]), optionalInt(ret[3])
	return &b, nil
}

func optionalInt(v sql.NullInt64) *int {
	if !v.Valid {
		return nil
	}
	n := int(v.Int64)
	return &n
}

func nullableInt(n *int) any {
	if n == nil {
		return nil
	}
	return int64(*n)
}

// Branches lists a project's tracked branches, newest first, limit per
// page, below the before cursor (a branch ID; 0: from the top).
func (s *Store) Branches(ctx context.Context, projectID, before int64, limit int) (lathe.Page[*lathe.Branch], error) {
	if limit < 1 {
		return lathe.Page[*lathe.Branch]{}, fmt.Errorf("list branches: limit %d: %w", limit, lathe.ErrInvalid)
	}
	where, args := []string{"b.project_id = ?"}, []any{projectID}
	if before > 0 {
		where, args = append(where, "b.id < ?"), append(args, before)
	}
	rows, err := s.query(ctx, `SELECT `+branchCols+` FROM branches b JOIN projects p ON p.id = b.project_id`+whereClause(where)+
		` ORDER BY b.id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.Branch]{}, fmt.Errorf("list branches: %w", err)
	}
	defer rows.Close()
	var items []*lathe.Branch
	for rows.Next() {
		b, err := scanBranch(rows)
		if err != nil {
			return lathe.Page[*lathe.Branch]{}, fmt.Errorf("list branches: %w", err)
		}
		items = append(items, b)
	}
	return page(items, limit, func(b *lathe.Branch) int64 { return b.ID }), rows.Err()
}

// Branch returns one tracked branch of a project with the newest run of
// each pipeline on it and its runs counted by status. Pull requests' runs
// (which record the branch they target) are left out of both.
func (s *Store) Branch(ctx context.Context, projectID int64, name string) (*lathe.Branch, error) {
	b, err := scanBranch(s.queryRow(ctx, `SELECT `+branchCols+` FROM branches b JOIN projects p ON p.id = b.project_id
		WHERE b.project_id = ? AND b.name = ?`, projectID, name))
	if err != nil {
		return nil, notFound(err, "branch", name)
	}
	rows, err := s.query(ctx, `SELECT `+runCols+` FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id IN (
		SELECT max(id) FROM runs WHERE project_id = ? AND branch = ? AND pull_request IS NULL GROUP BY pipeline) ORDER BY r.pipeline`,
		projectID, name)
	if err != nil {
		return nil, fmt.Errorf("last runs of branch %s: %w", name, err)
	}
	defer rows.Close()
	b.LastRuns = []*lathe.Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("last runs of branch %s: %w", name, err)
		}
		b.LastRuns = append(b.LastRuns, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	counts, err := s.query(ctx, `SELECT status, count(*) FROM runs WHERE project_id = ? AND branch = ? AND pull_request IS NULL
		GROUP BY status`, projectID, name)
	if err != nil {
		return nil, fmt.Errorf("count runs of branch %s: %w", name, err)
	}
	defer counts.Close()
	b.RunCounts = map[lathe.Status]int{}
	for counts.Next() {
		var st lathe.Status
		var n int
		if err := counts.Scan(&st, &n); err != nil {
			return nil, err
		}
		b.RunCounts[st] = n
	}
	return b, counts.Err()
}

// SetBranchSettings replaces a tracked branch's settings (checked by the
// caller).
func (s *Store) SetBranchSettings(ctx context.Context, projectID int64, name string, set lathe.BranchSettings) error {
	return s.tx(ctx, func(t *txn) error {
		rt := set.Retention
		res, err := t.exec(ctx, `UPDATE branches SET env = ?, keep_runs = ?, keep_days = ?,
			retain_ci_logs = ?, retain_ci_artifacts = ?, retain_manual_logs = ?, retain_manual_artifacts = ?
			WHERE project_id = ? AND name = ?`,
			jsonText(set.Env), nullableInt(set.KeepRuns), nullableInt(set.KeepDays),
			nullableInt(rt.CILogs), nullableInt(rt.CIArtifacts), nullableInt(rt.ManualLogs), nullableInt(rt.ManualArtifacts), projectID, name)
		if err != nil {
			return fmt.Errorf("settings of branch %s: %w", name, err)
		}
		return mustAffect(res, "branch", name)
	})
}

// DeleteBranch forgets a tracked branch and its settings. Its runs stay;
// a later run or hook on the branch tracks it again, with no settings.
func (s *Store) DeleteBranch(ctx context.Context, projectID int64, name string) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `DELETE FROM branches WHERE project_id = ? AND name = ?`, projectID, name)
		if err != nil {
			return fmt.Errorf("forget branch %s: %w", name, err)
		}
		return mustAffect(res, "branch", name)
	})
}

// BranchEnv is the env a tracked branch adds to its runs; none for a
// branch not tracked.
func (s *Store) BranchEnv(ctx context.Context, projectID int64, name string) ([]lathe.EnvVar, error) {
	var env string
	err := s.queryRow(ctx, `SELECT env FROM branches WHERE project_id = ? AND name = ?`, projectID, name).Scan(&env)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("env of branch %s: %w", name, err)
	}
	var out []lathe.EnvVar
	if err := fromJSON(env, &out); err != nil {
		return nil, fmt.Errorf("env of branch %s: %w", name, err)
	}
	return out, nil
}

// TrackedHeads maps each tracked branch of a project to its head as last seen.
func (s *Store) TrackedHeads(ctx context.Context, projectID int64) (map[string]string, error) {
	rows, err := s.query(ctx, `SELECT name, head_commit FROM branches WHERE project_id = ?`, projectID)
	if err != nil {
		return nil, fmt.Errorf("heads of project %d: %w", projectID, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, head string
		if err := rows.Scan(&name, &head); err != nil {
			return nil, err
		}
		out[name] = head
	}
	return out, rows.Err()
}

// ProjectsWithoutDefaultBranch lists the projects whose default branch is
// not tracked.
func (s *Store) ProjectsWithoutDefaultBranch(ctx context.Context) ([]*lathe.Project, error) {
	rows, err := s.query(ctx, `SELECT `+projectCols+` FROM projects WHERE NOT EXISTS (
		SELECT 1 FROM branches b WHERE b.project_id = projects.id AND b.name = projects.default_branch) ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("projects without their default branch: %w", err)
	}
	defer rows.Close()
	var out []*lathe.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
