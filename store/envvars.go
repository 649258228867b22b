package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// Variables and secrets of an environment. A secret is sealed as the
// project's secrets are, with the row's identity (environment and name) as
// associated data, so a ciphertext copied into another row does not open;
// it is opened only to hand it to a job deploying to the environment.

// environmentSecretAD is the identity of an environment secret's row.
func environmentSecretAD(envID int64, name string) []byte {
	return fmt.Appendf(nil, "environment:%d/secret:%s", envID, name)
}

// SetEnvironmentVariable stores a variable (or, with secret, a sealed
// secret) of the environment, replacing one of that name; created says
// whether it is new. k may be nil for a variable.
func (s *Store) SetEnvironmentVariable(ctx context.Context, k Sealer, envID int64, name, value string, secret bool, by string) (created bool, err error) {
	keyID, stored := "", value
	if secret {
		id, ct := k.Seal([]byte(value), environmentSecretAD(envID, name))
		keyID, stored = id, encodeCT(ct)
	}
	err = s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE environment_variables SET secret = ?, value = ?, key_id = ?, updated_at = ?, updated_by = ?
			WHERE environment_id = ? AND name = ?`, boolInt(secret), stored, keyID, micros(t.now), by, envID, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		created = true
		_, err = t.exec(ctx, `INSERT INTO environment_variables (environment_id, name, secret, value, key_id, created_at, created_by, updated_at, updated_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, envID, name, boolInt(secret), stored, keyID, micros(t.now), by, micros(t.now), by)
		if taken(err) {
			return fmt.Errorf("variable %s was created meanwhile: %w", name, lathe.ErrConflict)
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store variable %s: %w", name, err)
	}
	return created, nil
}

// DeleteEnvironmentVariable removes a variable or secret of the environment.
func (s *Store) DeleteEnvironmentVariable(ctx context.Context, envID int64, name string) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `DELETE FROM environment_variables WHERE environment_id = ? AND name = ?`, envID, name)
		if err != nil {
			return fmt.Errorf("delete variable %s: %w", name, err)
		}
		return mustAffect(res, "variable", name)
	})
}

// EnvironmentVariables lists the environment's variables and secrets by
// name; a secret's value is left out.
func (s *Store) EnvironmentVariables(ctx context.Context, envID int64) ([]*lathe.EnvironmentVariable, error) {
	rows, err := s.query(ctx, `SELECT name, secret, value, created_by, created_at, updated_by, updated_at FROM environment_variables
		WHERE environment_id = ? ORDER BY name`, envID)
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	defer rows.Close()
	out := []*lathe.EnvironmentVariable{}
	for rows.Next() {
		v := &lathe.EnvironmentVariable{}
		var created, updated int64
		if err := rows.Scan(&v.Name, &v.Secret, &v.Value, &v.CreatedBy, &created, &v.UpdatedBy, &updated); err != nil {
			return nil, fmt.Errorf("list variables: %w", err)
		}
		if v.Secret {
			v.Value = ""
		}
		v.CreatedAt, v.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, v)
	}
	return out, rows.Err()
}

// EnvironmentValues opens the environment's variables and secrets for a
// job deploying there: the plain variables, and the secrets by name.
func (s *Store) EnvironmentValues(ctx context.Context, k Sealer, envID int64) (vars []lathe.EnvVar, secrets map[string]string, err error) {
	rows, err := s.query(ctx, `SELECT name, secret, value, key_id FROM environment_variables WHERE environment_id = ? ORDER BY name`, envID)
	if err != nil {
		return nil, nil, fmt.Errorf("environment variables: %w", err)
	}
	defer rows.Close()
	secrets = map[string]string{}
	for rows.Next() {
		var name, value, keyID string
		var secret bool
		if err := rows.Scan(&name, &secret, &value, &keyID); err != nil {
			return nil, nil, fmt.Errorf("environment variables: %w", err)
		}
		if !secret {
			vars = append(vars, lathe.EnvVar{Name: name, Value: value})
			continue
		}
		if k == nil {
			return nil, nil, fmt.Errorf("environment secret %s: the server has no secret key: %w", name, ErrSecretKey)
		}
		b, err := openRow(k, keyID, value, environmentSecretAD(envID, name))
		if err != nil {
			return nil, nil, fmt.Errorf("environment secret %s: %w: %v", name, ErrSecretKey, err)
		}
		secrets[name] = string(b)
	}
	return vars, secrets, rows.Err()
}

// sealedEnvironmentRows adds the environments' secrets to the stored
// ciphertexts (see sealedRows).
func (t *txn) sealedEnvironmentRows(ctx context.Context, out []sealedRow, onePerKey bool) ([]sealedRow, error) {
	q := `SELECT id, environment_id, name, key_id, value FROM environment_variables WHERE secret <> 0`
	if onePerKey {
		q += ` AND id IN (SELECT MIN(id) FROM environment_variables WHERE secret <> 0 GROUP BY key_id)`
	}
	rows, err := t.query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read environment secrets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r sealedRow
		var envID int64
		var name string
		if err := rows.Scan(&r.key, &envID, &name, &r.keyID, &r.text); err != nil {
			return nil, err
		}
		r.table, r.ad = "environment_variables", environmentSecretAD(envID, name)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReleaseSettings returns a project's release settings (the defaults when
// it set none).
func (s *Store) ReleaseSettings(ctx context.Context, projectID int64) (*lathe.ReleaseSettings, error) {
	rs := &lathe.ReleaseSettings{}
	var updated int64
	err := s.queryRow(ctx, `SELECT build_pipeline, updated_by, updated_at FROM release_settings WHERE project_id = ?`, projectID).
		Scan(&rs.BuildPipeline, &rs.UpdatedBy, &updated)
	if err == sql.ErrNoRows {
		return &lathe.ReleaseSettings{BuildPipeline: lathe.DefaultBuildPipeline}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("release settings: %w", err)
	}
	at := fromMicros(updated)
	rs.UpdatedAt = &at
	return rs, nil
}

// SetReleaseSettings stores a project's release settings.
func (s *Store) SetReleaseSettings(ctx context.Context, projectID int64, rs *lathe.ReleaseSettings, by string) error {
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `INSERT INTO release_settings (project_id, build_pipeline, updated_at, updated_by) VALUES (?, ?, ?, ?)
			ON CONFLICT (project_id) DO UPDATE SET build_pipeline = excluded.build_pipeline, updated_at = excluded.updated_at,
				updated_by = excluded.updated_by`, projectID, rs.BuildPipeline, micros(t.now), by)
		if err != nil {
			return fmt.Errorf("release settings: %w", err)
		}
		now := t.now
		rs.UpdatedBy, rs.UpdatedAt = by, &now
		return nil
	})
}
