package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// CreateTeam stores a new, empty team; names are unique.
func (s *Store) CreateTeam(ctx context.Context, tm *lathe.Team) error {
	return s.tx(ctx, func(t *txn) error {
		var n int
		if err := t.queryRow(ctx, `SELECT count(*) FROM teams WHERE name = ?`, tm.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("team %q already exists: %w", tm.Name, lathe.ErrConflict)
		}
		tm.CreatedAt, tm.Members = t.now, []string{}
		err := t.queryRow(ctx, `INSERT INTO teams (name, created_at) VALUES (?, ?) RETURNING id`, tm.Name, micros(t.now)).Scan(&tm.ID)
		if uniqueViolation(err) {
			return fmt.Errorf("team %q already exists: %w", tm.Name, lathe.ErrConflict)
		}
		return err
	})
}

// Team returns a team with its members' names.
func (s *Store) Team(ctx context.Context, name string) (*lathe.Team, error) {
	return s.VisibleTeam(ctx, name, nil)
}

// VisibleTeam is Team for a viewer: a team v is not in and that holds no
// role on a project v may read is not found.
func (s *Store) VisibleTeam(ctx context.Context, name string, v *Viewer) (*lathe.Team, error) {
	var tm lathe.Team
	var created int64
	cond, args := `name = ?`, []any{name}
	if used, uargs := v.teamsUsed("id"); used != "" {
		cond, args = cond+` AND `+used, append(args, uargs...)
	}
	if err := s.queryRow(ctx, `SELECT id, name, created_at FROM teams WHERE `+cond, args...).Scan(&tm.ID, &tm.Name, &created); err != nil {
		return nil, notFound(err, "team", name)
	}
	tm.CreatedAt = fromMicros(created)
	rows, err := s.query(ctx, `SELECT u.name FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = ? ORDER BY u.name`, tm.ID)
	if err != nil {
		return nil, fmt.Errorf("members of team %s: %w", name, err)
	}
	defer rows.Close()
	tm.Members = []string{}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		tm.Members = append(tm.Members, u)
	}
	return &tm, rows.Err()
}

// Teams lists the names of the teams v may see (nil: all).
func (s *Store) Teams(ctx context.Context, v *Viewer) ([]string, error) {
	where, args := v.teamsUsed("id")
	if where != "" {
		where = " WHERE " + where
	}
	rows, err := s.query(ctx, `SELECT name FROM teams`+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	names, err := scanColumn[string](rows)
	if names == nil && err == nil {
		names = []string{} // a list, in JSON too
	}
	return names, err
}

// DeleteTeam removes a team and the roles it held.
func (s *Store) DeleteTeam(ctx context.Context, name string) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `DELETE FROM teams WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("delete team %s: %w", name, err)
		}
		return mustAffect(res, "team", name)
	})
}

// SetTeamMember adds (in=true) or removes the user from the team.
func (s *Store) SetTeamMember(ctx context.Context, team, user string, in bool) error {
	return s.tx(ctx, func(t *txn) error {
		var tid, uid int64
		if err := t.queryRow(ctx, `SELECT id FROM teams WHERE name = ?`, team).Scan(&tid); err != nil {
			return notFound(err, "team", team)
		}
		if err := t.queryRow(ctx, `SELECT id FROM users WHERE name = ?`, user).Scan(&uid); err != nil {
			return notFound(err, "user", user)
		}
		if !in {
			res, err := t.exec(ctx, `DELETE FROM team_members WHERE team_id = ? AND user_id = ?`, tid, uid)
			if err != nil {
				return err
			}
			return mustAffect(res, "member of team "+team, user)
		}
		_, err := t.exec(ctx, `INSERT INTO team_members (team_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, tid, uid)
		return err
	})
}
