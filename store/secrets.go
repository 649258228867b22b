package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// Sealer seals and opens secret values. The server's is a *secret.Keyring;
// the store only ever sees ciphertexts and the IDs of the keys that made
// them. Each value is sealed with the identity of its row (see secretAD) as
// associated data, so a ciphertext copied into another row does not open.
type Sealer interface {
	Seal(plaintext, associatedData []byte) (keyID string, ciphertext []byte)
	Open(keyID string, ciphertext, associatedData []byte) ([]byte, error)
	CurrentID() string
}

// ErrSecretKey means the configured keys cannot open what the database holds.
var ErrSecretKey = errors.New("secret key does not match")

// secretAD is the identity of a secret's row: its scope and name.
func secretAD(projectID int64, name string) []byte {
	if projectID == 0 {
		return []byte("global/secret:" + name)
	}
	return fmt.Appendf(nil, "project:%d/secret:%s", projectID, name)
}

// The key check is one value sealed under the key that sealed everything
// else, so a server started with another key notices before any secret exists.
var (
	keyCheckAD    = []byte("lathe/secret-key-check")
	keyCheckValue = []byte("lathe secret key check")
)

func encodeCT(ct []byte) string { return base64.StdEncoding.EncodeToString(ct) }

func decodeCT(text string) ([]byte, error) { return base64.StdEncoding.DecodeString(text) }

// scope is the WHERE condition for a project's secrets (projectID 0: the global ones).
func scope(projectID int64) (string, []any) {
	if projectID == 0 {
		return "s.project_id IS NULL", nil
	}
	return "s.project_id = ?", []any{projectID}
}

const secretCols = `s.name, COALESCE(p.name, ''), s.key_id, s.created_at, s.created_by, s.updated_at, s.updated_by, s.branches, s.events, s.kind`

const secretFrom = ` FROM secrets s LEFT JOIN projects p ON p.id = s.project_id`

func scanSecret(row interface{ Scan(...any) error }) (*lathe.Secret, error) {
	var sec lathe.Secret
	var created, updated int64
	var branches, events string
	if err := row.Scan(&sec.Name, &sec.Project, &sec.KeyID, &created, &sec.CreatedBy, &updated, &sec.UpdatedBy, &branches, &events, &sec.Kind); err != nil {
		return nil, err
	}
	sec.CreatedAt, sec.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := fromJSON(branches, &sec.Branches); err != nil {
		return nil, fmt.Errorf("secret %s: branches: %w", sec.Name, err)
	}
	if err := fromJSON(events, &sec.Events); err != nil {
		return nil, fmt.Errorf("secret %s: events: %w", sec.Name, err)
	}
	return &sec, nil
}

// Secrets lists a project's secrets (projectID 0: the global ones) by name, without values.
func (s *Store) Secrets(ctx context.Context, projectID int64) ([]*lathe.Secret, error) {
	cond, args := scope(projectID)
	rows, err := s.query(ctx, `SELECT `+secretCols+secretFrom+` WHERE `+cond+` ORDER BY s.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Secret{}
	for rows.Next() {
		sec, err := scanSecret(rows)
		if err != nil {
			return nil, fmt.Errorf("list secrets: %w", err)
		}
		out = append(out, sec)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if projectID == 0 {
		return out, s.addGrants(ctx, out)
	}
	return out, nil
}

// Secret returns one secret's metadata (never its value).
func (s *Store) Secret(ctx context.Context, projectID int64, name string) (*lathe.Secret, error) {
	cond, args := scope(projectID)
	sec, err := scanSecret(s.queryRow(ctx, `SELECT `+secretCols+secretFrom+` WHERE `+cond+` AND s.name = ?`, append(args, name)...))
	if err != nil {
		return nil, notFound(err, "secret", name)
	}
	if projectID == 0 {
		return sec, s.addGrants(ctx, []*lathe.Secret{sec})
	}
	return sec, nil
}

// CreateSecret seals and stores a new secret; it is a conflict if the name is taken in that scope.
func (s *Store) CreateSecret(ctx context.Context, k Sealer, projectID int64, name, value, by string) (*lathe.Secret, error) {
	sec, _, err := s.putSecret(ctx, k, projectID, name, value, "", by, false)
	return sec, err
}

// PutSecret seals and stores a secret of a kind (lathe.SecretEnv or
// lathe.SecretFile; "" keeps a stored secret's kind and makes a new one
// SecretEnv); with replace it replaces the value of one with that name,
// otherwise that is a conflict. created says whether it is new.
func (s *Store) PutSecret(ctx context.Context, k Sealer, projectID int64, name, value, kind, by string, replace bool) (*lathe.Secret, bool, error) {
	return s.putSecret(ctx, k, projectID, name, value, kind, by, replace)
}

// SetSecret seals and stores a secret, replacing the value of one with that
// name; created says whether it is new.
func (s *Store) SetSecret(ctx context.Context, k Sealer, projectID int64, name, value, by string) (sec *lathe.Secret, created bool, err error) {
	return s.putSecret(ctx, k, projectID, name, value, "", by, true)
}

func (s *Store) putSecret(ctx context.Context, k Sealer, projectID int64, name, value, kind, by string, replace bool) (*lathe.Secret, bool, error) {
	keyID, ct := k.Seal([]byte(value), secretAD(projectID, name))
	var pid any
	if projectID != 0 {
		pid = projectID
	}
	created := false
	err := s.tx(ctx, func(t *txn) error {
		cond, args := scope(projectID)
		var id int64
		err := t.queryRow(ctx, `SELECT s.id FROM secrets s WHERE `+cond+` AND s.name = ?`, append(args, name)...).Scan(&id)
		switch {
		case err == sql.ErrNoRows:
			created = true
			if kind == "" {
				kind = lathe.SecretEnv
			}
			_, err = t.exec(ctx, `INSERT INTO secrets (project_id, name, key_id, ciphertext, created_at, created_by, updated_at, updated_by, kind)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, pid, name, keyID, encodeCT(ct), micros(t.now), by, micros(t.now), by, kind)
			if uniqueViolation(err) {
				return fmt.Errorf("secret %s already exists: %w", name, lathe.ErrConflict)
			}
			return err
		case err != nil:
			return err
		case !replace:
			return fmt.Errorf("secret %s already exists; PUT replaces its value: %w", name, lathe.ErrConflict)
		}
		_, err = t.exec(ctx, `UPDATE secrets SET key_id = ?, ciphertext = ?, updated_at = ?, updated_by = ?,
			kind = CASE WHEN ? = '' THEN kind ELSE ? END WHERE id = ?`,
			keyID, encodeCT(ct), micros(t.now), by, kind, kind, id)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("store secret %s: %w", name, err)
	}
	sec, err := s.Secret(ctx, projectID, name)
	return sec, created, err
}

// DeleteSecret removes a secret.
func (s *Store) DeleteSecret(ctx context.Context, projectID int64, name string) error {
	return s.tx(ctx, func(t *txn) error {
		cond, args := scope(projectID)
		cond = strings.ReplaceAll(cond, "s.", "")
		res, err := t.exec(ctx, `DELETE FROM secrets WHERE `+cond+` AND name = ?`, append(args, name)...)
		if err != nil {
			return fmt.Errorf("delete secret %s: %w", name, err)
		}
		return mustAffect(res, "secret", name)
	})
}

func openRow(k Sealer, keyID, text string, ad []byte) ([]byte, error) {
	ct, err := decodeCT(text)
	if err != nil {
		return nil, fmt.Errorf("stored ciphertext is not base64: %w", err)
	}
	return k.Open(keyID, ct, ad)
}

// sealedRow is one stored ciphertext: where it lives and how to open it.
type sealedRow struct {
	table string // "secrets", "project_keys", "forges", "hook_secrets", "webhooks", "environment_variables", "project_ssh_keys", "server_ssh_key" or "secret_key_check"
	key   int64  // the row's id (secrets, forges, projects for hook_secrets), project_id (project_keys) or 1
	keyID string
	text  string
	ad    []byte
}

// sealedQuery reads the sealed rows of one table: its SQL selects the row's
// key, key ID and ciphertext, and ad gives a row's associated data by key.
type sealedQuery struct {
	table, sql string
	ad         func(int64) []byte
}

// readSealed appends the rows the queries read to out.
func (t *txn) readSealed(ctx context.Context, out []sealedRow, qs ...sealedQuery) ([]sealedRow, error) {
	for _, q := range qs {
		rows, err := t.query(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", q.table, err)
		}
		for rows.Next() {
			r := sealedRow{table: q.table}
			if err := rows.Scan(&r.key, &r.keyID, &r.text); err != nil {
				rows.Close()
				return nil, err
			}
			r.ad = q.ad(r.key)
			out = append(out, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sealedRows reads every stored ciphertext, or with onePerKey one for each key ID.
func (t *txn) sealedRows(ctx context.Context, onePerKey bool) ([]sealedRow, error) {
	var out []sealedRow
	secretsQ := `SELECT id, project_id, name, key_id, ciphertext FROM secrets`
	keysQ := `SELECT project_id, key_id, private_key FROM project_keys`
	if onePerKey {
		secretsQ += ` WHERE id IN (SELECT MIN(id) FROM secrets GROUP BY key_id)`
		keysQ += ` WHERE project_id IN (SELECT MIN(project_id) FROM project_keys GROUP BY key_id)`
	}
	rows, err := t.query(ctx, secretsQ)
	if err != nil {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	for rows.Next() {
		var r sealedRow
		var pid sql.NullInt64
		var name string
		if err := rows.Scan(&r.key, &pid, &name, &r.keyID, &r.text); err != nil {
			rows.Close()
			return nil, err
		}
		r.table, r.ad = "secrets", secretAD(pid.Int64, name)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = t.query(ctx, keysQ)
	if err != nil {
		return nil, fmt.Errorf("read project keys: %w", err)
	}
	for rows.Next() {
		var r sealedRow
		if err := rows.Scan(&r.key, &r.keyID, &r.text); err != nil {
			rows.Close()
			return nil, err
		}
		r.table, r.ad = "project_keys", projectKeyAD(r.key)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if out, err = t.sealedForgeRows(ctx, out, onePerKey); err != nil {
		return nil, err
	}
	if out, err = t.sealedWebhookRows(ctx, out, onePerKey); err != nil {
		return nil, err
	}
	if out, err = t.sealedEnvironmentRows(ctx, out, onePerKey); err != nil {
		return nil, err
	}
	if out, err = t.sealedSSHKeyRows(ctx, out, onePerKey); err != nil {
		return nil, err
	}
	var r sealedRow
	err = t.queryRow(ctx, `SELECT key_id, ciphertext FROM secret_key_check WHERE id = 1`).Scan(&r.keyID, &r.text)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return nil, fmt.Errorf("read key check: %w", err)
	default:
		r.table, r.key, r.ad = "secret_key_check", 1, keyCheckAD
		out = append(out, r)
	}
	return out, nil
}

// CheckSecretKey makes sure the keyring opens what the database holds: one
// stored value per key ID that sealed any, and the key check. On a
// database with no key check yet it stores one under the current key. A
// server calls it before serving and refuses to start when it fails.
func (s *Store) CheckSecretKey(ctx context.Context, k Sealer) error {
	err := s.checkSecretKey(ctx, k)
	if errors.Is(err, errKeyCheckRace) {
		// Another replica starting at the same moment wrote the check
		// first: check against the key it wrote.
		err = s.checkSecretKey(ctx, k)
	}
	return err
}

// errKeyCheckRace is a key check written by another server between the
// read and the write of checkSecretKey's.
var errKeyCheckRace = errors.New("the key check was written meanwhile")

func (s *Store) checkSecretKey(ctx context.Context, k Sealer) error {
	return s.tx(ctx, func(t *txn) error {
		rows, err := t.sealedRows(ctx, true)
		if err != nil {
			return err
		}
		hasCheck := false
		for _, r := range rows {
			if r.table == "secret_key_check" {
				hasCheck = true
			}
			if _, err := openRow(k, r.keyID, r.text, r.ad); err != nil {
				return fmt.Errorf("%w the key that encrypted the stored secrets (key id %s; configured keys: %s): %v",
					ErrSecretKey, r.keyID, keyIDs(k), err)
			}
		}
		if hasCheck {
			return nil
		}
		keyID, ct := k.Seal(keyCheckValue, keyCheckAD)
		res, err := t.exec(ctx, `INSERT INTO secret_key_check (id, key_id, ciphertext, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			keyID, encodeCT(ct), micros(t.now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return errKeyCheckRace
		}
		return nil
	})
}

func keyIDs(k Sealer) string {
	if l, ok := k.(interface{ IDs() []string }); ok {
		return strings.Join(l.IDs(), ", ")
	}
	return k.CurrentID()
}

// ReencryptSecrets seals every stored value (secrets, project keys and the
// key check) that is not under the current key again under it, in one
// transaction, and returns how many it re-sealed. Afterwards old keys are
// no longer needed.
func (s *Store) ReencryptSecrets(ctx context.Context, k Sealer) (int, error) {
	n := 0
	err := s.tx(ctx, func(t *txn) error {
		rows, err := t.sealedRows(ctx, false)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.keyID == k.CurrentID() {
				continue
			}
			v, err := openRow(k, r.keyID, r.text, r.ad)
			if err != nil {
				return fmt.Errorf("%w: a stored value (key id %s) does not open: %v", ErrSecretKey, r.keyID, err)
			}
			keyID, ct := k.Seal(v, r.ad)
			var q string
			switch r.table {
			case "secrets":
				q = `UPDATE secrets SET key_id = ?, ciphertext = ? WHERE id = ?`
			case "project_keys":
				q = `UPDATE project_keys SET key_id = ?, private_key = ? WHERE project_id = ?`
			case "forges":
				q = `UPDATE forges SET key_id = ?, token = ? WHERE id = ?`
			case "hook_secrets":
				q = `UPDATE projects SET hook_secret_key_id = ?, hook_secret = ? WHERE id = ?`
			case "webhooks":
				q = `UPDATE webhooks SET key_id = ?, secret = ? WHERE id = ?`
			case "environment_variables":
				q = `UPDATE environment_variables SET key_id = ?, value = ? WHERE id = ?`
			case "project_ssh_keys":
				q = `UPDATE project_ssh_keys SET key_id = ?, private_key = ? WHERE project_id = ?`
			case "server_ssh_key":
				q = `UPDATE server_ssh_key SET key_id = ?, private_key = ? WHERE id = ?`
			default:
				q = `UPDATE secret_key_check SET key_id = ?, ciphertext = ? WHERE id = ?`
			}
			if _, err := t.exec(ctx, q, keyID, encodeCT(ct), r.key); err != nil {
				return fmt.Errorf("re-encrypt: %w", err)
			}
			n++
		}
		return nil
	})
	return n, err
}
