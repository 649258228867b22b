package store

import (
	"context"
	"fmt"
)

// projectKeyAD is the identity of a project's key row.
func projectKeyAD(projectID int64) []byte { return fmt.Appendf(nil, "project:%d/key", projectID) }

// ProjectPublicKey returns the PEM public key of a project, or ErrNotFound
// when it has none yet.
func (s *Store) ProjectPublicKey(ctx context.Context, projectID int64) (string, error) {
	var pem string
	if err := s.queryRow(ctx, `SELECT public_key FROM project_keys WHERE project_id = ?`, projectID).Scan(&pem); err != nil {
		return "", notFound(err, "key of project", projectID)
	}
	return pem, nil
}

// ProjectPrivateKey opens a project's private key (PKCS #8 DER).
func (s *Store) ProjectPrivateKey(ctx context.Context, k Sealer, projectID int64) ([]byte, error) {
	var keyID, text string
	err := s.queryRow(ctx, `SELECT key_id, private_key FROM project_keys WHERE project_id = ?`, projectID).Scan(&keyID, &text)
	if err != nil {
		return nil, notFound(err, "key of project", projectID)
	}
	der, err := openRow(k, keyID, text, projectKeyAD(projectID))
	if err != nil {
		return nil, fmt.Errorf("key of project %d: %w", projectID, err)
	}
	return der, nil
}

// AddProjectKey stores a project's key pair, the private key sealed,
// unless the project has one already: when two first requests race, the
// first key stored wins and both read it back.
func (s *Store) AddProjectKey(ctx context.Context, k Sealer, projectID int64, publicPEM string, privateDER []byte) error {
	keyID, ct := k.Seal(privateDER, projectKeyAD(projectID))
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `INSERT INTO project_keys (project_id, public_key, key_id, private_key, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id) DO NOTHING`, projectID, publicPEM, keyID, encodeCT(ct), micros(t.now))
		if err != nil {
			return fmt.Errorf("store key of project %d: %w", projectID, err)
		}
		return nil
	})
}
