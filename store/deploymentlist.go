package store

import (
	"context"
	"strings"

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

// EnvironmentsFor lists the environments of the projects the viewer may
// read (of one project when projectID is set), by project and position.
func (s *Store) EnvironmentsFor(ctx context.Context, v *Viewer, projectID int64) ([]*lathe.Environment, error) {
	conds, args := []string{"1 = 1"}, []any{}
	if projectID != 0 {
		conds, args = append(conds, "e.project_id = ?"), append(args, projectID)
	}
	if cond, a := v.readable("e.project_id"); cond != "" {
		conds, args = append(conds, cond), append(args, a...)
	}
	return s.environments(ctx, strings.Join(conds, " AND "), args...)
}
