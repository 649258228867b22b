package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// Who may have a stored secret (issue 12, items 8 and 9): a global
// secret's grants to projects, and any secret's branch and event limits.
// The store keeps and reports them; the server decides, at claim time,
// from the run's real ref and event (engine.SecretDenial).

// addGrants fills in the projects each global secret is granted to.
func (s *Store) addGrants(ctx context.Context, secrets []*lathe.Secret) error {
	if len(secrets) == 0 {
		return nil
	}
	rows, err := s.query(ctx, `SELECT s.name, p.name FROM secret_grants g
		JOIN secrets s ON s.id = g.secret_id JOIN projects p ON p.id = g.project_id
		WHERE s.project_id IS NULL ORDER BY p.name`)
	if err != nil {
		return fmt.Errorf("read secret grants: %w", err)
	}
	defer rows.Close()
	byName := map[string]*lathe.Secret{}
	for _, sec := range secrets {
		byName[sec.Name] = sec
	}
	for rows.Next() {
		var name, project string
		if err := rows.Scan(&name, &project); err != nil {
			return fmt.Errorf("read secret grants: %w", err)
		}
		if sec := byName[name]; sec != nil {
			sec.Projects = append(sec.Projects, project)
		}
	}
	return rows.Err()
}

// SetSecretRules changes who may have a secret of the scope (projectID 0:
// a global one); see lathe.SecretRules. Naming a project that does not
// exist is an error, and changes nothing.
func (s *Store) SetSecretRules(ctx context.Context, projectID int64, name string, rules lathe.SecretRules, by string) (*lathe.Secret, error) {
	err := s.tx(ctx, func(t *txn) error {
		cond, args := scope(projectID)
		var id int64
		if err := t.queryRow(ctx, `SELECT s.id FROM secrets s WHERE `+cond+` AND s.name = ?`, append(args, name)...).Scan(&id); err != nil {
			return notFound(err, "secret", name)
		}
		if rules.Branches != nil {
			if _, err := t.exec(ctx, `UPDATE secrets SET branches = ? WHERE id = ?`, jsonText(*rules.Branches), id); err != nil {
				return err
			}
		}
		if rules.Events != nil {
			if _, err := t.exec(ctx, `UPDATE secrets SET events = ? WHERE id = ?`, jsonText(*rules.Events), id); err != nil {
				return err
			}
		}
		if rules.Projects != nil {
			if err := t.setGrants(ctx, id, *rules.Projects); err != nil {
				return err
			}
		}
		_, err := t.exec(ctx, `UPDATE secrets SET updated_at = ?, updated_by = ? WHERE id = ?`, micros(t.now), by, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return s.Secret(ctx, projectID, name)
}

// setGrants replaces the projects a global secret is granted to.
func (t *txn) setGrants(ctx context.Context, secretID int64, projects []string) error {
	if _, err := t.exec(ctx, `DELETE FROM secret_grants WHERE secret_id = ?`, secretID); err != nil {
		return err
	}
	for _, p := range projects {
		var pid int64
		err := t.queryRow(ctx, `SELECT id FROM projects WHERE name = ?`, p).Scan(&pid)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("projects: there is no project %q: %w", p, lathe.ErrInvalid)
		}
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO secret_grants (secret_id, project_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, secretID, pid); err != nil {
			return err
		}
	}
	return nil
}

// StoredSecret is a secret a job asked for, opened, with what decides
// whether the job's run may have it.
type StoredSecret struct {
	Value string
	// Kind is how the job gets it (lathe.SecretEnv or lathe.SecretFile).
	Kind string
	// Global is set for a global secret (the project has none of that name),
	// and Granted when it is granted to the project.
	Global, Granted  bool
	Branches, Events []string
}

// SecretValues opens the secrets a job of the project asks for: the
// project's own, or for names it lacks, the global ones, granted or not
// (the caller refuses an ungranted one, saying so). Names found nowhere
// are missing from the map.
func (s *Store) SecretValues(ctx context.Context, k Sealer, projectID int64, names []string) (map[string]StoredSecret, error) {
	out := map[string]StoredSecret{}
	if len(names) == 0 {
		return out, nil
	}
	args := []any{projectID, projectID}
	for _, n := range names {
		args = append(args, n)
	}
	rows, err := s.query(ctx, `SELECT s.project_id, s.name, s.key_id, s.ciphertext, s.branches, s.events, s.kind,
		EXISTS (SELECT 1 FROM secret_grants g WHERE g.secret_id = s.id AND g.project_id = ?)
		FROM secrets s WHERE (s.project_id = ? OR s.project_id IS NULL) AND s.name IN (`+placeholders(len(names))+`)
		ORDER BY s.project_id IS NULL DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid sql.NullInt64
		var name, keyID, text, branches, events string
		var sec StoredSecret
		if err := rows.Scan(&pid, &name, &keyID, &text, &branches, &events, &sec.Kind, &sec.Granted); err != nil {
			return nil, fmt.Errorf("read secrets: %w", err)
		}
		// Global rows come first, so a project's own secret overrides them.
		v, err := openRow(k, keyID, text, secretAD(pid.Int64, name))
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", name, err)
		}
		if err := fromJSON(branches, &sec.Branches); err != nil {
			return nil, fmt.Errorf("secret %s: branches: %w", name, err)
		}
		if err := fromJSON(events, &sec.Events); err != nil {
			return nil, fmt.Errorf("secret %s: events: %w", name, err)
		}
		sec.Value, sec.Global = string(v), !pid.Valid
		out[name] = sec
	}
	return out, rows.Err()
}
