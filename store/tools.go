package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// Tools are the published versions of reusable tools. The archive is a blob
// the API keeps; the store records the manifest, digest and blob key. A
// version is never replaced in place.

const toolCols = `id, name, version, description, manifest, size, sha256, blob_key, created_by, created_at`

func scanTool(row interface{ Scan(...any) error }) (*lathe.Tool, error) {
	var t lathe.Tool
	var manifest string
	var created int64
	if err := row.Scan(&t.ID, &t.Name, &t.Version, &t.Description, &manifest, &t.Size, &t.SHA256, &t.BlobKey, &t.CreatedBy, &created); err != nil {
		return nil, err
	}
	t.Manifest = []byte(manifest)
	t.CreatedAt = fromMicros(created)
	return &t, nil
}

// PutTool records a new tool version (Name, Version, Description,
// Manifest, Size, SHA256, BlobKey, CreatedBy); a version already published
// is refused with ErrConflict.
func (s *Store) PutTool(ctx context.Context, t *lathe.Tool) error {
	return s.tx(ctx, func(x *txn) error {
		var n int
		if err := x.queryRow(ctx, `SELECT count(*) FROM tools WHERE name = ? AND version = ?`, t.Name, t.Version).Scan(&n); err != nil {
			return fmt.Errorf("tool %s@%s: %w", t.Name, t.Version, err)
		}
		if n > 0 {
			return fmt.Errorf("tool %s@%s is published already; a version is never replaced: delete it first or publish a new version: %w",
				t.Name, t.Version, lathe.ErrConflict)
		}
		t.CreatedAt = x.now
		err := x.queryRow(ctx, `INSERT INTO tools (name, version, description, manifest, size, sha256, blob_key, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			t.Name, t.Version, t.Description, string(t.Manifest), t.Size, t.SHA256, t.BlobKey, t.CreatedBy, micros(x.now)).Scan(&t.ID)
		if uniqueViolation(err) {
			return fmt.Errorf("tool %s@%s is published already: %w", t.Name, t.Version, lathe.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("record tool %s@%s: %w", t.Name, t.Version, err)
		}
		return nil
	})
}

// Tool returns one version of a tool (ErrNotFound when it is not published).
func (s *Store) Tool(ctx context.Context, name, version string) (*lathe.Tool, error) {
	t, err := scanTool(s.queryRow(ctx, `SELECT `+toolCols+` FROM tools WHERE name = ? AND version = ?`, name, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("tool %s@%s is not published: %w", name, version, lathe.ErrNotFound)
	}
	return t, err
}

// Tools lists the published tool versions, by name then newest first;
// name, when not empty, keeps only that tool's versions.
func (s *Store) Tools(ctx context.Context, name string) ([]*lathe.Tool, error) {
	rows, err := s.query(ctx, `SELECT `+toolCols+` FROM tools WHERE ? = '' OR name = ? ORDER BY name, created_at DESC, id DESC`, name, name)
	if err != nil {
		return nil, fmt.Errorf("tools: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Tool{}
	for rows.Next() {
		t, err := scanTool(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTool removes a tool version's record and returns it (the caller
// deletes its archive); ErrNotFound when it is not published.
func (s *Store) DeleteTool(ctx context.Context, name, version string) (*lathe.Tool, error) {
	var t *lathe.Tool
	err := s.tx(ctx, func(x *txn) error {
		var err error
		t, err = scanTool(x.queryRow(ctx, `SELECT `+toolCols+` FROM tools WHERE name = ? AND version = ?`, name, version))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("tool %s@%s is not published: %w", name, version, lathe.ErrNotFound)
		}
		if err != nil {
			return err
		}
		_, err = x.exec(ctx, `DELETE FROM tools WHERE id = ?`, t.ID)
		return err
	})
	return t, err
}
