package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

const projectCols = `id, name, url, default_branch, visibility, created_at, updated_at, url_credentials, url_by_admin, allow_api_pipelines` + projectForgeCols

func scanProject(row interface{ Scan(...any) error }) (*lathe.Project, error) {
	var p lathe.Project
	var created, updated int64
	var byAdmin, apiPipelines int
	var fs projectForgeScan
	if err := row.Scan(append([]any{&p.ID, &p.Name, &p.URL, &p.DefaultBranch, &p.Visibility, &created, &updated, &p.URLCredentials, &byAdmin,
		&apiPipelines}, fs.dest()...)...); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt, p.URLByAdmin = fromMicros(created), fromMicros(updated), byAdmin != 0
	p.AllowAPIPipelines = apiPipelines != 0
	if err := fs.into(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

// CreateProject stores a new project; its name must be unique.
func (s *Store) CreateProject(ctx context.Context, p *lathe.Project) error {
	return s.tx(ctx, func(t *txn) error {
		var n int
		if err := t.queryRow(ctx, `SELECT count(*) FROM projects WHERE name = ?`, p.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("project %q already exists: %w", p.Name, lathe.ErrConflict)
		}
		p.CreatedAt, p.UpdatedAt = t.now, t.now
		if p.Visibility == "" {
			p.Visibility = lathe.VisibilityPrivate
		}
		err := t.queryRow(ctx, `INSERT INTO projects (name, url, default_branch, visibility, created_at, updated_at, url_credentials, url_by_admin,
				allow_api_pipelines)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.Name, p.URL, p.DefaultBranch, p.Visibility, micros(t.now), micros(t.now), p.URLCredentials, boolInt(p.URLByAdmin),
			boolInt(p.AllowAPIPipelines)).Scan(&p.ID)
		if uniqueViolation(err) {
			return fmt.Errorf("project %q already exists: %w", p.Name, lathe.ErrConflict)
		}
		if err != nil {
			return err
		}
		return t.setProjectForge(ctx, p)
	})
}

// Project returns a project by name, or by ID when key is all digits.
func (s *Store) Project(ctx context.Context, key string) (*lathe.Project, error) {
	q := `SELECT ` + projectCols + ` FROM projects WHERE name = ?`
	var arg any = key
	if id, err := strconv.ParseInt(key, 10, 64); err == nil {
		q, arg = `SELECT `+projectCols+` FROM projects WHERE id = ?`, id
	}
	p, err := scanProject(s.queryRow(ctx, q, arg))
	if err != nil {
		return nil, notFound(err, "project", key)
	}
	return p, nil
}

// Projects lists projects newest first, limit per page, below the before cursor (0: from the top).
func (s *Store) Projects(ctx context.Context, before int64, limit int) (lathe.Page[*lathe.Project], error) {
	return s.ProjectsFor(ctx, nil, before, limit)
}

// ProjectsFor is Projects limited to those v may read (nil: all of them).
func (s *Store) ProjectsFor(ctx context.Context, v *Viewer, before int64, limit int) (lathe.Page[*lathe.Project], error) {
	if limit < 1 {
		return lathe.Page[*lathe.Project]{}, fmt.Errorf("list projects: limit %d: %w", limit, lathe.ErrInvalid)
	}
	var where []string
	var args []any
	if before > 0 {
		where, args = append(where, "id < ?"), append(args, before)
	}
	if cond, a := v.readable("id"); cond != "" {
		where, args = append(where, cond), append(args, a...)
	}
	q := `SELECT ` + projectCols + ` FROM projects` + whereClause(where) + ` ORDER BY id DESC LIMIT ?`
	rows, err := s.query(ctx, q, append(args, limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.Project]{}, fmt.Errorf("list projects: %w", err)
	}
	defer rows.Close()
	var items []*lathe.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return lathe.Page[*lathe.Project]{}, fmt.Errorf("list projects: %w", err)
		}
		items = append(items, p)
	}
	return page(items, limit, func(p *lathe.Project) int64 { return p.ID }), rows.Err()
}

// UpdateProject saves the project's URL, default branch, visibility,
// settings (and name).
func (s *Store) UpdateProject(ctx context.Context, p *lathe.Project) error {
	return s.tx(ctx, func(t *txn) error {
		var n int
		if err := t.queryRow(ctx, `SELECT count(*) FROM projects WHERE name = ? AND id <> ?`, p.Name, p.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("project %q already exists: %w", p.Name, lathe.ErrConflict)
		}
		p.UpdatedAt = t.now
		if p.Visibility == "" {
			p.Visibility = lathe.VisibilityPrivate
		}
		res, err := t.exec(ctx, `UPDATE projects SET name = ?, url = ?, default_branch = ?, visibility = ?, updated_at = ?,
			url_credentials = ?, url_by_admin = ?, allow_api_pipelines = ? WHERE id = ?`,
			p.Name, p.URL, p.DefaultBranch, p.Visibility, micros(t.now), p.URLCredentials, boolInt(p.URLByAdmin),
			boolInt(p.AllowAPIPipelines), p.ID)
		if uniqueViolation(err) {
			return fmt.Errorf("project %q already exists: %w", p.Name, lathe.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("update project %d: %w", p.ID, err)
		}
		if err := mustAffect(res, "project", p.ID); err != nil {
			return err
		}
		return t.setProjectForge(ctx, p)
	})
}

// DeleteProject removes a project with all its runs, jobs and logs. It
// refuses while any of its runs is unfinished, so no agent is left working
// for a job that no longer exists.
func (s *Store) DeleteProject(ctx context.Context, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		var active int
		if err := t.queryRow(ctx, `SELECT count(*) FROM runs WHERE project_id = ? AND status NOT IN (`+terminalList+`)`, id).Scan(&active); err != nil {
			return err
		}
		if active > 0 {
			return fmt.Errorf("project %d has %d unfinished runs; cancel them first: %w", id, active, lathe.ErrConflict)
		}
		res, err := t.exec(ctx, `DELETE FROM projects WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete project %d: %w", id, err)
		}
		return mustAffect(res, "project", id)
	})
}

// terminalList is the SQL list of terminal statuses.
var terminalList = func() string {
	var q []string
	for _, st := range lathe.Statuses {
		if st.Terminal() {
			q = append(q, "'"+string(st)+"'")
		}
	}
	return strings.Join(q, ", ")
}()
