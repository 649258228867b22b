package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// UserGrants lists the roles a user holds on projects: granted to the user
// and granted to each team the user is in (Team set), by project name. An
// unknown user is ErrNotFound.
func (s *Store) UserGrants(ctx context.Context, user string) ([]lathe.ProjectGrant, error) {
	var id int64
	if err := s.queryRow(ctx, `SELECT id FROM users WHERE name = ?`, user).Scan(&id); err != nil {
		return nil, notFound(err, "user", user)
	}
	return s.grants(ctx, `SELECT p.name, COALESCE(t.name, ''), m.role FROM project_members m
		JOIN projects p ON p.id = m.project_id LEFT JOIN teams t ON t.id = m.team_id
		WHERE m.user_id = ? OR m.team_id IN (SELECT team_id FROM team_members WHERE user_id = ?)
		ORDER BY p.name, t.name`, id, id)
}

// TeamGrants lists the roles a team holds on projects, by project name. An
// unknown team is ErrNotFound.
func (s *Store) TeamGrants(ctx context.Context, team string) ([]lathe.ProjectGrant, error) {
	var id int64
	if err := s.queryRow(ctx, `SELECT id FROM teams WHERE name = ?`, team).Scan(&id); err != nil {
		return nil, notFound(err, "team", team)
	}
	return s.grants(ctx, `SELECT p.name, t.name, m.role FROM project_members m
		JOIN projects p ON p.id = m.project_id JOIN teams t ON t.id = m.team_id
		WHERE m.team_id = ? ORDER BY p.name`, id)
}

func (s *Store) grants(ctx context.Context, query string, args ...any) ([]lathe.ProjectGrant, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("project grants: %w", err)
	}
	defer rows.Close()
	out := []lathe.ProjectGrant{}
	for rows.Next() {
		var g lathe.ProjectGrant
		if err := rows.Scan(&g.Project, &g.Team, &g.Role); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
