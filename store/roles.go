package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// Viewer is a caller whose lists are limited to the projects it may read.
// A nil *Viewer sees everything (admins and the server itself).
type Viewer struct {
	// UserID is the caller; 0 is anonymous, who reads public projects only.
	UserID int64
}

// readable returns a condition on col (a project ID column) that keeps the
// projects v may read, or "" when v reads all.
func (v *Viewer) readable(col string) (string, []any) {
	if v == nil {
		return "", nil
	}
	return `(` + col + ` IN (SELECT id FROM projects WHERE visibility = 'public')
		OR ` + col + ` IN (SELECT project_id FROM project_members WHERE user_id = ?
			OR team_id IN (SELECT team_id FROM team_members WHERE user_id = ?)))`, []any{v.UserID, v.UserID}
}

// ProjectRole returns the strongest role the user holds on the project,
// directly or through a team (RoleNone if none). Admin rights are not roles;
// the caller checks those.
func (s *Store) ProjectRole(ctx context.Context, userID, projectID int64) (lathe.Role, error) {
	rows, err := s.query(ctx, `SELECT role FROM project_members WHERE project_id = ? AND (user_id = ?
		OR team_id IN (SELECT team_id FROM team_members WHERE user_id = ?))`, projectID, userID, userID)
	if err != nil {
		return "", fmt.Errorf("role of user %d on project %d: %w", userID, projectID, err)
	}
	defer rows.Close()
	best := lathe.RoleNone
	for rows.Next() {
		var r lathe.Role
		if err := rows.Scan(&r); err != nil {
			return "", err
		}
		if r.Rank() > best.Rank() {
			best = r
		}
	}
	return best, rows.Err()
}

// Owning projects of resources addressed by ID, so access is checked
// before a handler touches the resource.
var ownerQueries = map[string]string{
	"run":       `SELECT project_id FROM runs WHERE id = ?`,
	"stage":     `SELECT r.project_id FROM stages s JOIN runs r ON r.id = s.run_id WHERE s.id = ?`,
	"job":       `SELECT r.project_id FROM jobs j JOIN runs r ON r.id = j.run_id WHERE j.id = ?`,
	"attempt":   `SELECT r.project_id FROM attempts a JOIN jobs j ON j.id = a.job_id JOIN runs r ON r.id = j.run_id WHERE a.id = ?`,
	"artifact":  `SELECT r.project_id FROM artifacts x JOIN runs r ON r.id = x.run_id WHERE x.id = ?`,
	"test_case": `SELECT project_id FROM test_cases WHERE id = ?`,
}

// OwningProject returns the project a run, stage, job or attempt (kind) belongs to.
func (s *Store) OwningProject(ctx context.Context, kind string, id int64) (*lathe.Project, error) {
	q, ok := ownerQueries[kind]
	if !ok {
		return nil, fmt.Errorf("owning project of a %s: %w", kind, lathe.ErrInvalid)
	}
	var pid int64
	if err := s.queryRow(ctx, q, id).Scan(&pid); err != nil {
		return nil, notFound(err, kind, id)
	}
	p, err := scanProject(s.queryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE id = ?`, pid))
	if err != nil {
		return nil, notFound(err, "project", pid)
	}
	return p, nil
}

// Members lists the role grants of a project.
func (s *Store) Members(ctx context.Context, projectID int64) ([]lathe.Member, error) {
	rows, err := s.query(ctx, `SELECT COALESCE(u.name, ''), COALESCE(t.name, ''), m.role FROM project_members m
		LEFT JOIN users u ON u.id = m.user_id LEFT JOIN teams t ON t.id = m.team_id
		WHERE m.project_id = ? ORDER BY t.name, u.name`, projectID)
	if err != nil {
		return nil, fmt.Errorf("members of project %d: %w", projectID, err)
	}
	defer rows.Close()
	out := []lathe.Member{}
	for rows.Next() {
		var m lathe.Member
		if err := rows.Scan(&m.User, &m.Team, &m.Role); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// memberTarget returns the column and ID a grant to m names.
func memberTarget(ctx context.Context, t *txn, m lathe.Member) (col string, id int64, err error) {
	switch {
	case m.User != "" && m.Team == "":
		err = t.queryRow(ctx, `SELECT id FROM users WHERE name = ?`, m.User).Scan(&id)
		return "user_id", id, notFoundOrNil(err, "user", m.User)
	case m.Team != "" && m.User == "":
		err = t.queryRow(ctx, `SELECT id FROM teams WHERE name = ?`, m.Team).Scan(&id)
		return "team_id", id, notFoundOrNil(err, "team", m.Team)
	}
	return "", 0, fmt.Errorf("a grant names a user or a team, not both or neither: %w", lathe.ErrInvalid)
}

func notFoundOrNil(err error, what string, key any) error {
	if err == nil {
		return nil
	}
	return notFound(err, what, key)
}

// Grant gives the member's user or team its role on the project, replacing
// any role it had there.
func (s *Store) Grant(ctx context.Context, projectID int64, m lathe.Member) error {
	if !m.Role.Valid() {
		return fmt.Errorf("role %q: must be read, write or owner: %w", m.Role, lathe.ErrInvalid)
	}
	return s.tx(ctx, func(t *txn) error {
		col, id, err := memberTarget(ctx, t, m)
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM project_members WHERE project_id = ? AND `+col+` = ?`, projectID, id); err != nil {
			return err
		}
		_, err = t.exec(ctx, `INSERT INTO project_members (project_id, `+col+`, role) VALUES (?, ?, ?)`, projectID, id, string(m.Role))
		return err
	})
}

// Revoke removes the member's role on the project.
func (s *Store) Revoke(ctx context.Context, projectID int64, m lathe.Member) error {
	return s.tx(ctx, func(t *txn) error {
		col, id, err := memberTarget(ctx, t, m)
		if err != nil {
			return err
		}
		res, err := t.exec(ctx, `DELETE FROM project_members WHERE project_id = ? AND `+col+` = ?`, projectID, id)
		if err != nil {
			return err
		}
		return mustAffect(res, "grant on project to", m.User+m.Team)
	})
}

// agentsUsed returns a condition on g.id (an agent) that keeps the agents
// that ran an attempt of a project v may read, or "" when v sees all: the
// fleet's names, hosts and labels are for admins, a user sees the agents
// its projects use.
func (v *Viewer) agentsUsed() (string, []any) {
	if v == nil {
		return "", nil
	}
	cond, args := v.readable("r.project_id")
	return `g.id IN (SELECT a.agent_id FROM attempts a JOIN jobs j ON j.id = a.job_id
		JOIN runs r ON r.id = j.run_id WHERE ` + cond + `)`, args
}

// teamsUsed returns a condition on col (a team ID column) that keeps the
// teams v belongs to or that hold a role on a project v may read, or ""
// when v sees all.
func (v *Viewer) teamsUsed(col string) (string, []any) {
	if v == nil {
		return "", nil
	}
	cond, args := v.readable("pm.project_id")
	return `(` + col + ` IN (SELECT team_id FROM team_members WHERE user_id = ?)
		OR ` + col + ` IN (SELECT pm.team_id FROM project_members pm WHERE pm.team_id IS NOT NULL AND ` + cond + `))`,
		append([]any{v.UserID}, args...)
}
