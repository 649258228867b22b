package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	lathe "github.com/lathe-ci/lathe"
)

// putJobContainer stores the container a newly inserted job runs in, if any.
func (t *txn) putJobContainer(ctx context.Context, j *lathe.Job) error {
	if j.Container == nil {
		return nil
	}
	if j.Container.Image == "" {
		return fmt.Errorf("job %q: a container needs an image: %w", j.Name, lathe.ErrInvalid)
	}
	_, err := t.exec(ctx, `UPDATE jobs SET container = ?, image = ? WHERE id = ?`, jsonObject(j.Container), j.Container.Image, j.ID)
	if err != nil {
		return fmt.Errorf("store job %q's container: %w", j.Name, err)
	}
	return nil
}

// decodeContainer reads a jobs.container value; an empty one is none.
func decodeContainer(text string) (*lathe.JobContainer, error) {
	if text == "" {
		return nil, nil
	}
	var c lathe.JobContainer
	if err := fromJSON(text, &c); err != nil {
		return nil, fmt.Errorf("container: %w", err)
	}
	return &c, nil
}

// Systems lists what jobs ran on (Kraken's systems): each image jobs named,
// and "host" for the jobs run on their agent's machine, with how many jobs
// asked for it, how many attempts agents started, and when the last
// started; the most lately used first.
func (s *Store) Systems(ctx context.Context) ([]lathe.System, error) {
	rows, err := s.query(ctx, `SELECT j.image, COUNT(DISTINCT j.id), COUNT(a.started_at), MAX(a.started_at)
		FROM jobs j LEFT JOIN attempts a ON a.job_id = j.id
		GROUP BY j.image`)
	if err != nil {
		return nil, fmt.Errorf("list systems: %w", err)
	}
	defer rows.Close()
	out := []lathe.System{}
	for rows.Next() {
		var sys lathe.System
		var last sql.NullInt64
		if err := rows.Scan(&sys.Image, &sys.Jobs, &sys.Attempts, &last); err != nil {
			return nil, fmt.Errorf("list systems: %w", err)
		}
		sys.Executor = "container"
		if sys.Image == "" {
			sys.Executor = "host"
		}
		sys.LastUsed = fromNullMicros(last)
		out = append(out, sys)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list systems: %w", err)
	}
	// The most lately used first, never used last, then by image.
	sort.SliceStable(out, func(i, k int) bool {
		a, b := out[i].LastUsed, out[k].LastUsed
		switch {
		case a != nil && b != nil && !a.Equal(*b):
			return a.After(*b)
		case (a == nil) != (b == nil):
			return a != nil
		}
		return out[i].Image < out[k].Image
	})
	return out, nil
}
