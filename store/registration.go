package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

const regTokenCols = `id, name, created_at, last_used, revoked_at`

func scanRegToken(row interface{ Scan(...any) error }) (*lathe.RegistrationToken, error) {
	var rt lathe.RegistrationToken
	var created int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&rt.ID, &rt.Name, &created, &used, &revoked); err != nil {
		return nil, err
	}
	rt.CreatedAt, rt.LastUsed, rt.RevokedAt = fromMicros(created), fromNullMicros(used), fromNullMicros(revoked)
	return &rt, nil
}

// CreateRegistrationToken stores a registration token by the hash of its secret.
func (s *Store) CreateRegistrationToken(ctx context.Context, rt *lathe.RegistrationToken, tokenHash string) error {
	return s.createRegistrationToken(ctx, rt, tokenHash, false)
}

// CreateProviderRegistrationToken stores the registration token of the
// agents the agent providers' loop starts: an agent registering with it
// under the name of an instance being started is authorized and a member
// of the instance's group at once (see RegisterAgent).
func (s *Store) CreateProviderRegistrationToken(ctx context.Context, rt *lathe.RegistrationToken, tokenHash string) error {
	return s.createRegistrationToken(ctx, rt, tokenHash, true)
}

func (s *Store) createRegistrationToken(ctx context.Context, rt *lathe.RegistrationToken, tokenHash string, provider bool) error {
	return s.tx(ctx, func(t *txn) error {
		rt.CreatedAt = t.now
		err := t.queryRow(ctx, `INSERT INTO registration_tokens (name, token_hash, provider, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			rt.Name, tokenHash, boolInt(provider), micros(t.now)).Scan(&rt.ID)
		if err != nil {
			return fmt.Errorf("create registration token %q: %w", rt.Name, err)
		}
		return nil
	})
}

// RegistrationTokens lists registration tokens (revoked ones too) newest first.
func (s *Store) RegistrationTokens(ctx context.Context, before int64, limit int) (lathe.Page[*lathe.RegistrationToken], error) {
	if limit < 1 {
		return lathe.Page[*lathe.RegistrationToken]{}, fmt.Errorf("list registration tokens: limit %d: %w", limit, lathe.ErrInvalid)
	}
	var where []string
	var args []any
	if before > 0 {
		where, args = append(where, "id < ?"), append(args, before)
	}
	rows, err := s.query(ctx, `SELECT `+regTokenCols+` FROM registration_tokens`+whereClause(where)+` ORDER BY id DESC LIMIT ?`,
		append(args, limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.RegistrationToken]{}, fmt.Errorf("list registration tokens: %w", err)
	}
	defer rows.Close()
	var items []*lathe.RegistrationToken
	for rows.Next() {
		rt, err := scanRegToken(rows)
		if err != nil {
			return lathe.Page[*lathe.RegistrationToken]{}, fmt.Errorf("list registration tokens: %w", err)
		}
		items = append(items, rt)
	}
	return page(items, limit, func(rt *lathe.RegistrationToken) int64 { return rt.ID }), rows.Err()
}

// RegistrationToken returns one registration token.
func (s *Store) RegistrationToken(ctx context.Context, id int64) (*lathe.RegistrationToken, error) {
	rt, err := scanRegToken(s.queryRow(ctx, `SELECT `+regTokenCols+` FROM registration_tokens WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "registration token", id)
	}
	return rt, nil
}

// RevokeRegistrationToken stops a registration token from registering more
// agents. Agents it registered keep their own credentials. Revoking twice is
// not an error.
func (s *Store) RevokeRegistrationToken(ctx context.Context, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE registration_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, micros(t.now), id)
		if err != nil {
			return fmt.Errorf("revoke registration token %d: %w", id, err)
		}
		return mustAffect(res, "registration token", id)
	})
}

// RegisterAgent creates agent a with the credential hashing to credHash, if
// regHash is the hash of a registration token that is not revoked
// (ErrUnauthorized otherwise). The agent is authorized unless
// requireAuthorization is set; an agent that a provider started
// (registering with the providers' token under the name of an instance
// being started) is authorized anyway, and joins the instance's group in
// the same transaction, so its first claim already carries group:NAME.
// A taken name is ErrConflict: an agent that
// lost its credential is deleted by an admin before it registers again.
func (s *Store) RegisterAgent(ctx context.Context, regHash string, a *lathe.Agent, credHash string, requireAuthorization bool) error {
	return s.tx(ctx, func(t *txn) error {
		var regID, fromProvider int64
		var revoked sql.NullInt64
		err := t.queryRow(ctx, `SELECT id, revoked_at, provider FROM registration_tokens WHERE token_hash = ?`, regHash).Scan(&regID, &revoked, &fromProvider)
		if err == sql.ErrNoRows {
			return fmt.Errorf("unknown registration token: %w", lathe.ErrUnauthorized)
		}
		if err != nil {
			return fmt.Errorf("register agent: %w", err)
		}
		if revoked.Valid {
			return fmt.Errorf("registration token %d was revoked: %w", regID, lathe.ErrUnauthorized)
		}
		var n int
		if err := t.queryRow(ctx, `SELECT count(*) FROM agents WHERE name = ?`, a.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("an agent named %q already exists; delete it first or choose another name: %w", a.Name, lathe.ErrConflict)
		}
		var groupID int64
		var groupName string
		if fromProvider == 1 {
			err := t.queryRow(ctx, `SELECT gr.id, gr.name FROM agent_instances i JOIN agent_groups gr ON gr.id = i.group_id
				WHERE i.name = ? AND i.state = ?`, a.Name, lathe.InstanceStarting).Scan(&groupID, &groupName)
			if err != nil && err != sql.ErrNoRows {
				return fmt.Errorf("register agent %q: its instance: %w", a.Name, err)
			}
		}
		a.CreatedAt, a.Authorized, a.Disabled = t.now, !requireAuthorization || groupID != 0, false
		a.LastSeen = &a.CreatedAt
		a.Online = true
		if a.Groups == nil {
			a.Groups = []string{}
		}
		a.Labels = orNone(a.Labels) // as stored and read back: a list, never null
		err = t.queryRow(ctx, `INSERT INTO agents (name, token_hash, labels, host, authorized, registration_token_id, created_at, last_seen)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			a.Name, credHash, jsonText(a.Labels), jsonText(a.Host), boolInt(a.Authorized), regID, micros(t.now), micros(t.now)).Scan(&a.ID)
		if uniqueViolation(err) {
			return fmt.Errorf("an agent named %q already exists: %w", a.Name, lathe.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("register agent %q: %w", a.Name, err)
		}
		if groupID != 0 {
			if _, err := t.exec(ctx, `INSERT INTO agent_group_members (group_id, agent_id) VALUES (?, ?)`, groupID, a.ID); err != nil {
				return fmt.Errorf("register agent %q: join group %s: %w", a.Name, groupName, err)
			}
			a.Groups = []string{groupName}
			t.afterCommit = append(t.afterCommit, agentChanged(a.ID))
		}
		_, err = t.exec(ctx, `UPDATE registration_tokens SET last_used = ? WHERE id = ?`, micros(t.now), regID)
		return err
	})
}

// CheckRegistrationToken reports whether a registration token is known and
// not revoked (ErrUnauthorized otherwise), so register can refuse a caller
// before it reads the body. RegisterAgent checks again in its transaction.
func (s *Store) CheckRegistrationToken(ctx context.Context, regHash string) error {
	var revoked sql.NullInt64
	err := s.queryRow(ctx, `SELECT revoked_at FROM registration_tokens WHERE token_hash = ?`, regHash).Scan(&revoked)
	switch {
	case err == sql.ErrNoRows || (err == nil && revoked.Valid):
		return fmt.Errorf("unknown or revoked registration token: %w", lathe.ErrUnauthorized)
	case err != nil:
		return fmt.Errorf("check registration token: %w", err)
	}
	return nil
}
