package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// Installation returns the marker naming this database's installation: a
// random name made at its first call and kept for good, the same for every
// replica on the database. A server writes it into the shared blob store
// it uses, and refuses a store that holds another's (see server.openBlobs).
func (s *Store) Installation(ctx context.Context) (string, error) {
	var marker string
	err := s.tx(ctx, func(t *txn) error {
		b := make([]byte, 16)
		rand.Read(b)
		if _, err := t.exec(ctx, `INSERT INTO installation (id, marker) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, hex.EncodeToString(b)); err != nil {
			return err
		}
		return t.queryRow(ctx, `SELECT marker FROM installation WHERE id = 1`).Scan(&marker)
	})
	if err != nil {
		return "", fmt.Errorf("installation: %w", err)
	}
	return marker, nil
}
