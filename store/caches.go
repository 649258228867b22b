package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// Caches are directories jobs saved under a key (their `cache:`) for later
// jobs of the project. The archive is a blob the API keeps; the store
// records, per project, scope and key, its size, digest and when it was
// last used, which orders the least-recently-used eviction. A cache saved
// by an untrusted run is in the untrusted scope, which trusted runs never
// read (and untrusted runs read nothing else).

// CacheScope is the project and trust of the run an agent's running
// attempt belongs to: which caches it may restore and where it saves.
type CacheScope struct {
	ProjectID int64
	Untrusted bool
}

// AttemptCacheScope checks that agentID holds attemptID, running, and
// returns the scope of its run's caches.
func (s *Store) AttemptCacheScope(ctx context.Context, agentID, attemptID int64) (CacheScope, error) {
	var sc CacheScope
	var owner int64
	var status lathe.Status
	var untrusted int
	err := s.queryRow(ctx, `SELECT a.agent_id, a.status, r.project_id, r.untrusted FROM attempts a JOIN jobs j ON j.id = a.job_id
		JOIN runs r ON r.id = j.run_id WHERE a.id = ?`, attemptID).Scan(&owner, &status, &sc.ProjectID, &untrusted)
	if err != nil {
		return sc, notFound(err, "attempt", attemptID)
	}
	sc.Untrusted = untrusted != 0
	return sc, attemptHeld(attemptID, agentID, owner, status)
}

// FindCache returns the cache of the scope whose key is key, or else the
// newest whose key starts with the first of prefixes that has one, and
// marks it used (ErrNotFound when none matches).
func (s *Store) FindCache(ctx context.Context, sc CacheScope, key string, prefixes []string) (*lathe.Cache, error) {
	var c *lathe.Cache
	err := s.tx(ctx, func(t *txn) error {
		var err error
		c, err = scanCache(t.queryRow(ctx, `SELECT `+cacheCols+` FROM caches WHERE project_id = ? AND untrusted = ? AND cache_key = ?`,
			sc.ProjectID, boolInt(sc.Untrusted), key))
		for _, p := range prefixes {
			if !errors.Is(err, sql.ErrNoRows) {
				break
			}
			// substr, not LIKE: '_' is a LIKE wildcard and a key character.
			c, err = scanCache(t.queryRow(ctx, `SELECT `+cacheCols+` FROM caches
				WHERE project_id = ? AND untrusted = ? AND substr(cache_key, 1, ?) = ? ORDER BY created_at DESC, id DESC LIMIT 1`,
				sc.ProjectID, boolInt(sc.Untrusted), len(p), p))
		}
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no cache matches key %q: %w", key, lathe.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("find cache %q: %w", key, err)
		}
		c.LastUsedAt = t.now
		_, err = t.exec(ctx, `UPDATE caches SET last_used_at = ? WHERE id = ?`, micros(t.now), c.ID)
		return err
	})
	return c, err
}

// ErrCacheExists is a save of a key the scope already holds: caches are
// never replaced, as the first save of a key is what it stands for.
var ErrCacheExists = errors.New("cache key already saved")

// PutCache records c (ProjectID, Untrusted, Key, Size, SHA256) and then
// evicts the project's least-recently-used caches until all of them
// together take at most limit bytes, returning those it evicted (the
// caller deletes their archives). A key the scope holds already is
// refused with ErrCacheExists and the cache on record.
func (s *Store) PutCache(ctx context.Context, c *lathe.Cache, limit int64) (existing *lathe.Cache, evicted []*lathe.Cache, err error) {
	err = s.tx(ctx, func(t *txn) error {
		old, err := scanCache(t.queryRow(ctx, `SELECT `+cacheCols+` FROM caches WHERE project_id = ? AND untrusted = ? AND cache_key = ?`,
			c.ProjectID, boolInt(c.Untrusted), c.Key))
		switch {
		case err == nil:
			existing = old
			return fmt.Errorf("cache %q: %w", c.Key, ErrCacheExists)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("cache %q: %w", c.Key, err)
		}
		c.CreatedAt, c.LastUsedAt = t.now, t.now
		err = t.queryRow(ctx, `INSERT INTO caches (project_id, untrusted, cache_key, size, sha256, created_at, last_used_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.ProjectID, boolInt(c.Untrusted), c.Key, c.Size, c.SHA256, micros(t.now), micros(t.now)).Scan(&c.ID)
		if err != nil {
			return fmt.Errorf("record cache %q: %w", c.Key, err)
		}
		rows, err := t.query(ctx, `SELECT `+cacheCols+` FROM caches WHERE project_id = ? AND id <> ? ORDER BY last_used_at DESC, id DESC`,
			c.ProjectID, c.ID)
		if err != nil {
			return fmt.Errorf("caches of project %d: %w", c.ProjectID, err)
		}
		used := c.Size
		for rows.Next() {
			o, err := scanCache(rows)
			if err != nil {
				rows.Close()
				return err
			}
			if used += o.Size; used > limit {
				evicted = append(evicted, o)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, o := range evicted {
			if _, err := t.exec(ctx, `DELETE FROM caches WHERE id = ?`, o.ID); err != nil {
				return fmt.Errorf("evict cache %q: %w", o.Key, err)
			}
		}
		return nil
	})
	return existing, evicted, err
}

// Caches lists a project's caches, most recently used first.
func (s *Store) Caches(ctx context.Context, projectID int64) ([]*lathe.Cache, error) {
	rows, err := s.query(ctx, `SELECT `+cacheCols+` FROM caches WHERE project_id = ? ORDER BY last_used_at DESC, id DESC`, projectID)
	if err != nil {
		return nil, fmt.Errorf("caches of project %d: %w", projectID, err)
	}
	defer rows.Close()
	out := []*lathe.Cache{}
	for rows.Next() {
		c, err := scanCache(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const cacheCols = `id, project_id, untrusted, cache_key, size, sha256, created_at, last_used_at`

func scanCache(row interface{ Scan(...any) error }) (*lathe.Cache, error) {
	var c lathe.Cache
	var created, used int64
	var untrusted int
	if err := row.Scan(&c.ID, &c.ProjectID, &untrusted, &c.Key, &c.Size, &c.SHA256, &created, &used); err != nil {
		return nil, err
	}
	c.Untrusted = untrusted != 0
	c.CreatedAt, c.LastUsedAt = fromMicros(created), fromMicros(used)
	return &c, nil
}
