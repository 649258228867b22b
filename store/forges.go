package store

import (
	"context"
	"fmt"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
)

// Forge connections: the token is sealed with the server's keys (bound to
// its row by forgeTokenAD) and read back only by ForgeToken, for the calls
// Lathe makes to the forge.

const forgeCols = `id, name, kind, url, api_url, created_at, updated_at`

func scanForge(row interface{ Scan(...any) error }) (*lathe.Forge, error) {
	var f lathe.Forge
	var created, updated int64
	if err := row.Scan(&f.ID, &f.Name, &f.Kind, &f.URL, &f.APIURL, &created, &updated); err != nil {
		return nil, err
	}
	f.CreatedAt, f.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &f, nil
}

// forgeTokenAD binds a sealed token to its connection.
func forgeTokenAD(id int64) []byte { return fmt.Appendf(nil, "forge:%d/token", id) }

// CreateForge stores a forge connection with its token sealed; its name
// must be unique.
func (s *Store) CreateForge(ctx context.Context, k Sealer, f *lathe.Forge, token string) error {
	return s.tx(ctx, func(t *txn) error {
		if err := t.forgeNameFree(ctx, f.Name, 0); err != nil {
			return err
		}
		f.CreatedAt, f.UpdatedAt = t.now, t.now
		err := t.queryRow(ctx, `INSERT INTO forges (name, kind, url, api_url, key_id, token, created_at, updated_at)
			VALUES (?, ?, ?, ?, '', '', ?, ?) RETURNING id`, f.Name, f.Kind, f.URL, f.APIURL, micros(t.now), micros(t.now)).Scan(&f.ID)
		if uniqueViolation(err) {
			return fmt.Errorf("forge %q already exists: %w", f.Name, lathe.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create forge %q: %w", f.Name, err)
		}
		return t.sealForgeToken(ctx, k, f.ID, token)
	})
}

// forgeNameFree refuses a name another connection than id has. (On
// PostgreSQL a concurrent writer is caught by uniqueViolation.)
func (t *txn) forgeNameFree(ctx context.Context, name string, id int64) error {
	var n int
	if err := t.queryRow(ctx, `SELECT count(*) FROM forges WHERE name = ? AND id <> ?`, name, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("forge %q already exists: %w", name, lathe.ErrConflict)
	}
	return nil
}

func (t *txn) sealForgeToken(ctx context.Context, k Sealer, id int64, token string) error {
	keyID, ct := k.Seal([]byte(token), forgeTokenAD(id))
	_, err := t.exec(ctx, `UPDATE forges SET key_id = ?, token = ? WHERE id = ?`, keyID, encodeCT(ct), id)
	return err
}

// Forges lists the forge connections by name.
func (s *Store) Forges(ctx context.Context) ([]*lathe.Forge, error) {
	rows, err := s.query(ctx, `SELECT `+forgeCols+` FROM forges ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list forges: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Forge{}
	for rows.Next() {
		f, err := scanForge(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Forge returns a forge connection by name, or by ID when key is all digits.
func (s *Store) Forge(ctx context.Context, key string) (*lathe.Forge, error) {
	q, arg := `SELECT `+forgeCols+` FROM forges WHERE name = ?`, any(key)
	if id, err := strconv.ParseInt(key, 10, 64); err == nil {
		q, arg = `SELECT `+forgeCols+` FROM forges WHERE id = ?`, id
	}
	f, err := scanForge(s.queryRow(ctx, q, arg))
	if err != nil {
		return nil, notFound(err, "forge", key)
	}
	return f, nil
}

// UpdateForge saves a connection's name, kind and URLs, and its token when
// token is not nil. The projects whose URL is the forge's follow its URL.
func (s *Store) UpdateForge(ctx context.Context, k Sealer, f *lathe.Forge, token *string) error {
	return s.tx(ctx, func(t *txn) error {
		if err := t.forgeNameFree(ctx, f.Name, f.ID); err != nil {
			return err
		}
		f.UpdatedAt = t.now
		res, err := t.exec(ctx, `UPDATE forges SET name = ?, kind = ?, url = ?, api_url = ?, updated_at = ? WHERE id = ?`,
			f.Name, f.Kind, f.URL, f.APIURL, micros(t.now), f.ID)
		if uniqueViolation(err) {
			return fmt.Errorf("forge %q already exists: %w", f.Name, lathe.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("update forge %d: %w", f.ID, err)
		}
		if err := mustAffect(res, "forge", f.ID); err != nil {
			return err
		}
		if token != nil {
			if err := t.sealForgeToken(ctx, k, f.ID, *token); err != nil {
				return err
			}
		}
		_, err = t.exec(ctx, `UPDATE projects SET url = CAST(? AS TEXT) || '/' || repo || '.git', updated_at = ?
			WHERE forge_id = ? AND url_from_forge = 1`, f.URL, micros(t.now), f.ID)
		return err
	})
}

// DeleteForge removes a forge connection; it refuses (ErrConflict) while a
// project uses it.
func (s *Store) DeleteForge(ctx context.Context, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		var n int
		var first, name string
		if err := t.queryRow(ctx, `SELECT count(*), COALESCE(min(name), '') FROM projects WHERE forge_id = ?`, id).Scan(&n, &first); err != nil {
			return err
		}
		if n > 0 {
			if err := t.queryRow(ctx, `SELECT name FROM forges WHERE id = ?`, id).Scan(&name); err != nil {
				return notFound(err, "forge", id)
			}
			others := ""
			if n > 1 {
				others = fmt.Sprintf(" and %d other projects", n-1)
			}
			return fmt.Errorf("forge %s is the forge of project %s%s; point them elsewhere first (lathe project update %s --forge OTHER, or --forge \"\" for none): %w",
				name, first, others, first, lathe.ErrConflict)
		}
		res, err := t.exec(ctx, `DELETE FROM forges WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete forge %d: %w", id, err)
		}
		return mustAffect(res, "forge", id)
	})
}

// ForgeToken opens a connection's token, for a call to its forge.
func (s *Store) ForgeToken(ctx context.Context, k Sealer, id int64) (string, error) {
	var keyID, text string
	if err := s.queryRow(ctx, `SELECT key_id, token FROM forges WHERE id = ?`, id).Scan(&keyID, &text); err != nil {
		return "", notFound(err, "forge", id)
	}
	v, err := openRow(k, keyID, text, forgeTokenAD(id))
	if err != nil {
		return "", fmt.Errorf("open the token of forge %d: %w", id, err)
	}
	return string(v), nil
}
