package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// ProjectRoles returns the strongest role the user holds on each of the
// projects, directly or through a team, in one query (see ProjectRole);
// a project the user holds no role on is absent. Admin rights and public
// projects' read are the caller's to add.
func (s *Store) ProjectRoles(ctx context.Context, userID int64, projectIDs []int64) (map[int64]lathe.Role, error) {
	out := map[int64]lathe.Role{}
	if userID == 0 || len(projectIDs) == 0 {
		return out, nil
	}
	args := []any{userID, userID}
	for _, id := range projectIDs {
		args = append(args, id)
	}
	rows, err := s.query(ctx, `SELECT project_id, role FROM project_members WHERE (user_id = ?
		OR team_id IN (SELECT team_id FROM team_members WHERE user_id = ?)) AND project_id IN (`+placeholders(len(projectIDs))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("roles of user %d: %w", userID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var r lathe.Role
		if err := rows.Scan(&id, &r); err != nil {
			return nil, err
		}
		if r.Rank() > out[id].Rank() {
			out[id] = r
		}
	}
	return out, rows.Err()
}
