package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

const userCols = `u.id, u.name, u.password_hash, u.admin, u.service, u.disabled, u.created_at, u.updated_at, u.email`

// scanUser reads userCols; the password hash stays in the store except for Login.
func scanUser(row interface{ Scan(...any) error }) (*lathe.User, string, error) {
	var u lathe.User
	var hash string
	var admin, service, disabled int
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Name, &hash, &admin, &service, &disabled, &created, &updated, &u.Email); err != nil {
		return nil, "", err
	}
	u.Admin, u.Service, u.Disabled, u.HasPassword = admin != 0, service != 0, disabled != 0, hash != ""
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &u, hash, nil
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateUser stores a new user with a password hash ("" for none); names are unique.
func (s *Store) CreateUser(ctx context.Context, u *lathe.User, passwordHash string) error {
	return s.tx(ctx, func(t *txn) error {
		var n int
		if err := t.queryRow(ctx, `SELECT count(*) FROM users WHERE name = ?`, u.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("user %q already exists: %w", u.Name, lathe.ErrConflict)
		}
		u.CreatedAt, u.UpdatedAt, u.HasPassword = t.now, t.now, passwordHash != ""
		err := t.queryRow(ctx, `INSERT INTO users (name, email, password_hash, admin, service, disabled, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			u.Name, u.Email, passwordHash, bit(u.Admin), bit(u.Service), bit(u.Disabled), micros(t.now), micros(t.now)).Scan(&u.ID)
		if uniqueViolation(err) {
			return fmt.Errorf("user %q already exists: %w", u.Name, lathe.ErrConflict)
		}
		return err
	})
}

// User returns a user by name.
func (s *Store) User(ctx context.Context, name string) (*lathe.User, error) {
	u, _, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.name = ?`, name))
	if err != nil {
		return nil, notFound(err, "user", name)
	}
	return u, nil
}

// UserWithPassword returns a user by name with its stored password hash, for logging in.
func (s *Store) UserWithPassword(ctx context.Context, name string) (*lathe.User, string, error) {
	u, hash, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.name = ?`, name))
	if err != nil {
		return nil, "", notFound(err, "user", name)
	}
	return u, hash, nil
}

// Users lists users newest first.
func (s *Store) Users(ctx context.Context, before int64, limit int) (lathe.Page[*lathe.User], error) {
	if limit < 1 {
		return lathe.Page[*lathe.User]{}, fmt.Errorf("list users: limit %d: %w", limit, lathe.ErrInvalid)
	}
	var where []string
	var args []any
	if before > 0 {
		where, args = append(where, "u.id < ?"), append(args, before)
	}
	rows, err := s.query(ctx, `SELECT `+userCols+` FROM users u`+whereClause(where)+` ORDER BY u.id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.User]{}, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var items []*lathe.User
	for rows.Next() {
		u, _, err := scanUser(rows)
		if err != nil {
			return lathe.Page[*lathe.User]{}, fmt.Errorf("list users: %w", err)
		}
		items = append(items, u)
	}
	return page(items, limit, func(u *lathe.User) int64 { return u.ID }), rows.Err()
}

// UpdateUser saves a user's name, email, and admin and disabled flags.
// Names are unique. Disabling a user ends its sessions and tokens at once:
// authentication checks the flag. A new name keeps the user's sessions,
// tokens and roles, which belong to its ID.
func (s *Store) UpdateUser(ctx context.Context, u *lathe.User) error {
	return s.tx(ctx, func(t *txn) error {
		u.UpdatedAt = t.now
		var n int
		if err := t.queryRow(ctx, `SELECT count(*) FROM users WHERE name = ? AND id <> ?`, u.Name, u.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("user %q already exists: %w", u.Name, lathe.ErrConflict)
		}
		var was string
		if err := t.queryRow(ctx, `SELECT name FROM users WHERE id = ?`, u.ID).Scan(&was); err != nil {
			return notFound(err, "user", u.ID)
		}
		if err := t.renameInGates(ctx, was, u.Name); err != nil {
			return err
		}
		res, err := t.exec(ctx, `UPDATE users SET name = ?, email = ?, admin = ?, disabled = ?, updated_at = ? WHERE id = ?`,
			u.Name, u.Email, bit(u.Admin), bit(u.Disabled), micros(t.now), u.ID)
		if uniqueViolation(err) {
			return fmt.Errorf("user %q already exists: %w", u.Name, lathe.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("update user %q: %w", u.Name, err)
		}
		if err := mustAffect(res, "user", u.Name); err != nil {
			return err
		}
		if !u.Disabled {
			return nil
		}
		// A disabled user's tokens and sessions are revoked, not just
		// refused: enabling the user again must not bring them back.
		if _, err := t.exec(ctx, `DELETE FROM api_tokens WHERE user_id = ?`, u.ID); err != nil {
			return fmt.Errorf("revoke tokens of disabled user %q: %w", u.Name, err)
		}
		return nil
	})
}

// SetPassword stores a new password hash for the user and ends its other
// login sessions (all but keepToken, the one asking; 0 keeps none); with
// revokeTokens, its other API tokens too.
func (s *Store) SetPassword(ctx context.Context, userID int64, passwordHash string, keepToken int64, revokeTokens bool) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, passwordHash, micros(t.now), userID)
		if err != nil {
			return fmt.Errorf("set password of user %d: %w", userID, err)
		}
		if err := mustAffect(res, "user", userID); err != nil {
			return err
		}
		_, err = t.exec(ctx, `DELETE FROM api_tokens WHERE user_id = ? AND (kind = 'session' OR ?) AND id <> ?`,
			userID, revokeTokens, keepToken)
		return err
	})
}
