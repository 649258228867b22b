package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SSH keys for checking out private repositories: a project's own key pair
// (project_ssh_keys) and the server's (server_ssh_key, one row), each
// public key an authorized_keys line and each private key sealed like a
// secret. They are apart from the project keys that seal secrets.

// projectSSHKeyAD is the identity of a project's SSH key row.
func projectSSHKeyAD(projectID int64) []byte {
	return fmt.Appendf(nil, "project:%d/ssh-key", projectID)
}

// serverSSHKeyAD is the identity of the server's SSH key row.
var serverSSHKeyAD = []byte("server/ssh-key")

// ProjectSSHPublicKey returns a project's SSH public key, or ErrNotFound
// when it has none yet.
func (s *Store) ProjectSSHPublicKey(ctx context.Context, projectID int64) (string, error) {
	var pub string
	if err := s.queryRow(ctx, `SELECT public_key FROM project_ssh_keys WHERE project_id = ?`, projectID).Scan(&pub); err != nil {
		return "", notFound(err, "SSH key of project", projectID)
	}
	return pub, nil
}

// ProjectSSHPrivateKey opens a project's SSH private key (OpenSSH PEM), or
// returns ErrNotFound when it has none.
func (s *Store) ProjectSSHPrivateKey(ctx context.Context, k Sealer, projectID int64) ([]byte, error) {
	var keyID, text string
	err := s.queryRow(ctx, `SELECT key_id, private_key FROM project_ssh_keys WHERE project_id = ?`, projectID).Scan(&keyID, &text)
	if err != nil {
		return nil, notFound(err, "SSH key of project", projectID)
	}
	pem, err := openRow(k, keyID, text, projectSSHKeyAD(projectID))
	if err != nil {
		return nil, fmt.Errorf("SSH key of project %d: %w", projectID, err)
	}
	return pem, nil
}

// AddProjectSSHKey stores a project's SSH key pair unless it has one
// already: when two first requests race, the first key stored wins.
// With replace set it replaces the key the project has (a rotation): the
// old key is gone, and nothing of the server uses it again.
func (s *Store) AddProjectSSHKey(ctx context.Context, k Sealer, projectID int64, public string, privatePEM []byte, replace bool) error {
	keyID, ct := k.Seal(privatePEM, projectSSHKeyAD(projectID))
	conflict := `DO NOTHING`
	if replace {
		conflict = `DO UPDATE SET public_key = excluded.public_key, key_id = excluded.key_id,
			private_key = excluded.private_key, created_at = excluded.created_at`
	}
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `INSERT INTO project_ssh_keys (project_id, public_key, key_id, private_key, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id) `+conflict, projectID, public, keyID, encodeCT(ct), micros(t.now))
		if err != nil {
			return fmt.Errorf("store SSH key of project %d: %w", projectID, err)
		}
		return nil
	})
}

// ServerSSHPublicKey returns the server's SSH public key, or ErrNotFound
// when it has none yet.
func (s *Store) ServerSSHPublicKey(ctx context.Context) (string, error) {
	var pub string
	if err := s.queryRow(ctx, `SELECT public_key FROM server_ssh_key WHERE id = 1`).Scan(&pub); err != nil {
		return "", notFound(err, "SSH key of the server", "")
	}
	return pub, nil
}

// ServerSSHPrivateKey opens the server's SSH private key, or returns
// ErrNotFound when it has none.
func (s *Store) ServerSSHPrivateKey(ctx context.Context, k Sealer) ([]byte, error) {
	var keyID, text string
	err := s.queryRow(ctx, `SELECT key_id, private_key FROM server_ssh_key WHERE id = 1`).Scan(&keyID, &text)
	if err != nil {
		return nil, notFound(err, "SSH key of the server", "")
	}
	pem, err := openRow(k, keyID, text, serverSSHKeyAD)
	if err != nil {
		return nil, fmt.Errorf("SSH key of the server: %w", err)
	}
	return pem, nil
}

// AddServerSSHKey stores the server's SSH key pair unless it has one: the
// first stored wins.
func (s *Store) AddServerSSHKey(ctx context.Context, k Sealer, public string, privatePEM []byte) error {
	keyID, ct := k.Seal(privatePEM, serverSSHKeyAD)
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `INSERT INTO server_ssh_key (id, public_key, key_id, private_key, created_at)
			VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, public, keyID, encodeCT(ct), micros(t.now))
		if err != nil {
			return fmt.Errorf("store SSH key of the server: %w", err)
		}
		return nil
	})
}

// ProjectKnownHosts returns the known_hosts lines pinned for a project's
// repository host ("" when the server has not reached it over SSH yet).
func (s *Store) ProjectKnownHosts(ctx context.Context, projectID int64) (string, error) {
	var kh string
	err := s.queryRow(ctx, `SELECT known_hosts FROM project_known_hosts WHERE project_id = ?`, projectID).Scan(&kh)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("known hosts of project %d: %w", projectID, err)
	}
	return kh, nil
}

// SetProjectKnownHosts stores the known_hosts lines of a project's
// repository hosts. The server adds a host's key the first time it meets
// the host and never changes one it holds (see trigger.SSHHold), so this
// only ever grows the list; ForgetKnownHosts clears it.
func (s *Store) SetProjectKnownHosts(ctx context.Context, projectID int64, knownHosts string) error {
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `INSERT INTO project_known_hosts (project_id, known_hosts, updated_at)
			VALUES (?, ?, ?) ON CONFLICT (project_id) DO UPDATE SET known_hosts = excluded.known_hosts, updated_at = excluded.updated_at`,
			projectID, knownHosts, micros(t.now))
		if err != nil {
			return fmt.Errorf("store known hosts of project %d: %w", projectID, err)
		}
		return nil
	})
}

// ForgetKnownHosts removes the host keys pinned for a project (its URL
// host's key changed for a good reason): the next contact trusts anew.
func (s *Store) ForgetKnownHosts(ctx context.Context, projectID int64) error {
	return s.tx(ctx, func(t *txn) error {
		if _, err := t.exec(ctx, `DELETE FROM project_known_hosts WHERE project_id = ?`, projectID); err != nil {
			return fmt.Errorf("forget known hosts of project %d: %w", projectID, err)
		}
		return nil
	})
}

// sealedSSHKeyRows adds the SSH keys' sealed rows to out (see sealedRows).
func (t *txn) sealedSSHKeyRows(ctx context.Context, out []sealedRow, onePerKey bool) ([]sealedRow, error) {
	projQ := `SELECT project_id, key_id, private_key FROM project_ssh_keys`
	serverQ := `SELECT id, key_id, private_key FROM server_ssh_key`
	if onePerKey {
		projQ += ` WHERE project_id IN (SELECT MIN(project_id) FROM project_ssh_keys GROUP BY key_id)`
	}
	return t.readSealed(ctx, out, sealedQuery{"project_ssh_keys", projQ, projectSSHKeyAD}, sealedQuery{"server_ssh_key", serverQ, func(int64) []byte { return serverSSHKeyAD }})
}
