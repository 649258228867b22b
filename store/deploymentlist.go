package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// DeploymentFilter selects deployments for a page of them.
type DeploymentFilter struct {
	ProjectID     int64
	EnvironmentID int64
	// ReleaseID lists the deployments of the release's candidates.
	ReleaseID int64
	Before    int64
	Limit     int
	// Viewer limits the list to projects it may read (nil: all).
	Viewer *Viewer
}

// DeploymentPage lists deployments newest first, a page at a time: an
// environment's history, a release's, a project's, or every one the
// viewer may read.
func (s *Store) DeploymentPage(ctx context.Context, f DeploymentFilter) (lathe.Page[*lathe.Deployment], error) {
	var where []string
	var args []any
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if f.ProjectID != 0 {
		add("e.project_id = ?", f.ProjectID)
	}
	if f.EnvironmentID != 0 {
		add("d.environment_id = ?", f.EnvironmentID)
	}
	if f.ReleaseID != 0 {
		add("c.release_id = ?", f.ReleaseID)
	}
	if f.Before > 0 {
		add("d.id < ?", f.Before)
	}
	if cond, a := f.Viewer.readable("e.project_id"); cond != "" {
		where, args = append(where, cond), append(args, a...)
	}
	ds, err := s.deployments(ctx, whereClause(where)+` ORDER BY d.id DESC LIMIT ?`, append(args, f.Limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.Deployment]{}, err
	}
	return page(ds, f.Limit, func(d *lathe.Deployment) int64 { return d.ID }), nil
}

// EnvironmentsFor lists a page of the environments of the projects the
// viewer may read (of one project when projectID is set). It pages by
// project, newest first: limit counts projects, a project's environments
// (in promotion order) never split across pages, and the page's Next is
// the last project's ID, to pass as before.
func (s *Store) EnvironmentsFor(ctx context.Context, v *Viewer, projectID, before int64, limit int) (lathe.Page[*lathe.Environment], error) {
	if limit < 1 {
		return lathe.Page[*lathe.Environment]{}, fmt.Errorf("list environments: limit %d: %w", limit, lathe.ErrInvalid)
	}
	var where []string
	var args []any
	if projectID != 0 {
		where, args = append(where, "project_id = ?"), append(args, projectID)
	}
	if before > 0 {
		where, args = append(where, "project_id < ?"), append(args, before)
	}
	if cond, a := v.readable("project_id"); cond != "" {
		where, args = append(where, cond), append(args, a...)
	}
	rows, err := s.query(ctx, `SELECT DISTINCT project_id FROM environments`+whereClause(where)+` ORDER BY project_id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.Environment]{}, fmt.Errorf("list environments: %w", err)
	}
	ids, err := scanColumn[int64](rows)
	if err != nil {
		return lathe.Page[*lathe.Environment]{}, fmt.Errorf("list environments: %w", err)
	}
	out := lathe.Page[*lathe.Environment]{Items: []*lathe.Environment{}}
	if len(ids) == 0 {
		return out, nil
	}
	if len(ids) > limit {
		ids = ids[:limit]
		out.Next = &ids[limit-1]
	}
	out.Items, err = s.environments(ctx, "e.project_id IN ("+placeholders(len(ids))+")", idArgs(ids)...)
	return out, err
}
