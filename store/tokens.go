package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// Token kinds.
const (
	KindToken   = "token"   // an API token, named by its owner
	KindSession = "session" // a login session
)

// lastUsedGranularity bounds how often using a token writes its last-used
// time, so reads do not each cost a write.
const lastUsedGranularity = time.Minute

const tokenCols = `k.id, k.name, u.name, k.kind, k.scopes, k.created_at, k.expires_at, k.last_used`

func scanToken(row interface{ Scan(...any) error }) (*lathe.APIToken, error) {
	var k lathe.APIToken
	var scopes string
	var created int64
	var expires, used sql.NullInt64
	if err := row.Scan(&k.ID, &k.Name, &k.User, &k.Kind, &scopes, &created, &expires, &used); err != nil {
		return nil, err
	}
	k.Scopes = []lathe.Scope{}
	for _, sc := range strings.Fields(scopes) {
		k.Scopes = append(k.Scopes, lathe.Scope(sc))
	}
	k.CreatedAt, k.ExpiresAt, k.LastUsed = fromMicros(created), fromNullMicros(expires), fromNullMicros(used)
	return &k, nil
}

// scanTokenUser reads tokenCols followed by userCols from one row.
func scanTokenUser(r row) (*lathe.APIToken, *lathe.User, error) {
	var k lathe.APIToken
	var u lathe.User
	var scopes, hash string
	var created, uCreated, uUpdated int64
	var expires, used sql.NullInt64
	var admin, service, disabled int
	if err := r.Scan(&k.ID, &k.Name, &k.User, &k.Kind, &scopes, &created, &expires, &used,
		&u.ID, &u.Name, &hash, &admin, &service, &disabled, &uCreated, &uUpdated, &u.Email); err != nil {
		return nil, nil, err
	}
	for _, sc := range strings.Fields(scopes) {
		k.Scopes = append(k.Scopes, lathe.Scope(sc))
	}
	k.CreatedAt, k.ExpiresAt, k.LastUsed = fromMicros(created), fromNullMicros(expires), fromNullMicros(used)
	u.Admin, u.Service, u.Disabled, u.HasPassword = admin != 0, service != 0, disabled != 0, hash != ""
	u.CreatedAt, u.UpdatedAt = fromMicros(uCreated), fromMicros(uUpdated)
	return &k, &u, nil
}

func joinScopes(scopes []lathe.Scope) string {
	var b []string
	for _, sc := range scopes {
		b = append(b, string(sc))
	}
	return strings.Join(b, " ")
}

// CreateToken stores a token (or session) of the user k.User by the hash of
// its secret, and fills in its ID and creation time.
func (s *Store) CreateToken(ctx context.Context, k *lathe.APIToken, tokenHash string) error {
	if k.Kind == "" {
		k.Kind = KindToken
	}
	return s.tx(ctx, func(t *txn) error { return t.createToken(ctx, k, tokenHash) })
}

func (t *txn) createToken(ctx context.Context, k *lathe.APIToken, tokenHash string) error {
	var userID int64
	if err := t.queryRow(ctx, `SELECT id FROM users WHERE name = ?`, k.User).Scan(&userID); err != nil {
		return notFound(err, "user", k.User)
	}
	k.CreatedAt = t.now
	err := t.queryRow(ctx, `INSERT INTO api_tokens (name, token_hash, created_at, user_id, kind, scopes, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		k.Name, tokenHash, micros(t.now), userID, k.Kind, joinScopes(k.Scopes), nullMicros(k.ExpiresAt)).Scan(&k.ID)
	if err != nil {
		return fmt.Errorf("create token %q of %s: %w", k.Name, k.User, err)
	}
	return nil
}

// APIToken returns the name of the user whose token hashes to tokenHash.
func (s *Store) APIToken(ctx context.Context, tokenHash string) (string, error) {
	var name string
	if err := s.queryRow(ctx, `SELECT u.name FROM api_tokens k JOIN users u ON u.id = k.user_id WHERE k.token_hash = ?`, tokenHash).Scan(&name); err != nil {
		return "", notFound(err, "token", "given")
	}
	return name, nil
}

// Authenticate returns the token whose secret hashes to tokenHash and its
// user, and records its use. An unknown, revoked or expired token, or one
// of a disabled user, is lathe.ErrUnauthorized.
func (s *Store) Authenticate(ctx context.Context, tokenHash string) (*lathe.APIToken, *lathe.User, error) {
	row := s.queryRow(ctx, `SELECT `+tokenCols+`, `+userCols+` FROM api_tokens k JOIN users u ON u.id = k.user_id WHERE k.token_hash = ?`, tokenHash)
	k, u, err := scanTokenUser(row)
	if err == sql.ErrNoRows {
		return nil, nil, fmt.Errorf("unknown or revoked token: %w", lathe.ErrUnauthorized)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("authenticate: %w", err)
	}
	now := s.now()
	switch {
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return nil, nil, fmt.Errorf("%s %q expired at %s: %w", k.Kind, k.Name, k.ExpiresAt.Format(time.RFC3339), lathe.ErrUnauthorized)
	case u.Disabled:
		return nil, nil, fmt.Errorf("user %q is disabled: %w", u.Name, lathe.ErrUnauthorized)
	}
	if k.LastUsed == nil || now.Sub(*k.LastUsed) >= lastUsedGranularity {
		if err := s.tx(ctx, func(t *txn) error {
			_, err := t.exec(ctx, `UPDATE api_tokens SET last_used = ? WHERE id = ?`, micros(t.now), k.ID)
			return err
		}); err != nil {
			return nil, nil, fmt.Errorf("record token use: %w", err)
		}
		k.LastUsed = &now
	}
	return k, u, nil
}

// Tokens lists a user's tokens and sessions, newest first.
func (s *Store) Tokens(ctx context.Context, user string) ([]*lathe.APIToken, error) {
	rows, err := s.query(ctx, `SELECT `+tokenCols+` FROM api_tokens k JOIN users u ON u.id = k.user_id WHERE u.name = ? ORDER BY k.id DESC`, user)
	if err != nil {
		return nil, fmt.Errorf("list tokens of %s: %w", user, err)
	}
	defer rows.Close()
	items := []*lathe.APIToken{}
	for rows.Next() {
		k, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens of %s: %w", user, err)
		}
		items = append(items, k)
	}
	return items, rows.Err()
}

// DeleteToken revokes one of the user's tokens or sessions; the next
// request that presents it is refused.
func (s *Store) DeleteToken(ctx context.Context, user string, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `DELETE FROM api_tokens WHERE id = ? AND user_id = (SELECT id FROM users WHERE name = ?)`, id, user)
		if err != nil {
			return fmt.Errorf("delete token %d: %w", id, err)
		}
		return mustAffect(res, "token", id)
	})
}
