package store

import (
	"context"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// Retention (Kraken's retention policy): each branch says for how many
// days its runs keep their logs and artifacts, CI runs apart from manual
// ones. A sweep marks what is past its time expired, removes log chunks,
// and hands back the artifacts and caches whose blobs the caller removes;
// runs, jobs, attempts and artifact records stay.

// Expired is what one sweep took away.
type Expired struct {
	// Artifacts are now marked expired; their blobs are the caller's to delete.
	Artifacts []*lathe.Artifact
	// Caches were deleted (unused too long); their blobs are the caller's to delete.
	Caches []*lathe.Cache
	// Logs is how many attempts' logs were removed.
	Logs int
}

// retentionDays picks a branch's days for the kind of run r (the alias of
// runs), one of the policy's pairs of columns.
func retentionDays(ci, manual string) string {
	return `(CASE WHEN r.event = 'manual' THEN b.` + manual + ` ELSE b.` + ci + ` END)`
}

// ExpireDue does one retention sweep as of the store's clock, at most
// batch items of each kind: artifacts past their expires_at, or without
// an expire_in of their own and older than their branch's policy now
// says, are marked expired; finished attempts'
// logs older than their branch's policy are removed; caches unused for
// cacheIdle (zero: never) are deleted.
func (s *Store) ExpireDue(ctx context.Context, cacheIdle time.Duration, batch int) (Expired, error) {
	var out Expired
	err := s.tx(ctx, func(t *txn) error {
		out = Expired{}
		now := micros(t.now)
		list, err := t.query(ctx, `SELECT `+artifactCols+` `+artifactFrom+`
			LEFT JOIN branches b ON b.project_id = r.project_id AND b.name = r.branch
			WHERE x.expired_at IS NULL AND (x.expires_at <= ? OR x.expire_in IS NULL AND x.created_at + `+retentionDays("retain_ci_artifacts", "retain_manual_artifacts")+` * ? <= ?)
			ORDER BY x.id LIMIT ?`, now, dayMicros, now, batch)
		if err != nil {
			return fmt.Errorf("expired artifacts: %w", err)
		}
		for list.Next() {
			a, err := scanArtifact(list)
			if err != nil {
				list.Close()
				return err
			}
			a.Expired = true
			out.Artifacts = append(out.Artifacts, a)
		}
		list.Close()
		if err := list.Err(); err != nil {
			return err
		}
		for _, a := range out.Artifacts {
			if _, err := t.exec(ctx, `UPDATE artifacts SET expired_at = ? WHERE id = ?`, now, a.ID); err != nil {
				return fmt.Errorf("expire artifact %d: %w", a.ID, err)
			}
		}

		ids, err := t.query(ctx, `SELECT a.id FROM attempts a JOIN jobs j ON j.id = a.job_id JOIN runs r ON r.id = j.run_id
			JOIN branches b ON b.project_id = r.project_id AND b.name = r.branch
			WHERE a.log_expired_at IS NULL AND a.finished_at IS NOT NULL
				AND a.finished_at + `+retentionDays("retain_ci_logs", "retain_manual_logs")+` * ? <= ?
			ORDER BY a.id LIMIT ?`, dayMicros, now, batch)
		if err != nil {
			return fmt.Errorf("expired logs: %w", err)
		}
		var attempts []int64
		for ids.Next() {
			var id int64
			if err := ids.Scan(&id); err != nil {
				ids.Close()
				return err
			}
			attempts = append(attempts, id)
		}
		ids.Close()
		if err := ids.Err(); err != nil {
			return err
		}
		for _, id := range attempts {
			if _, err := t.exec(ctx, `DELETE FROM log_chunks WHERE attempt_id = ?`, id); err != nil {
				return fmt.Errorf("remove log of attempt %d: %w", id, err)
			}
			if _, err := t.exec(ctx, `UPDATE attempts SET log_expired_at = ? WHERE id = ?`, now, id); err != nil {
				return fmt.Errorf("expire log of attempt %d: %w", id, err)
			}
		}
		out.Logs = len(attempts)

		if cacheIdle <= 0 {
			return nil
		}
		caches, err := t.query(ctx, `SELECT `+cacheCols+` FROM caches WHERE last_used_at <= ? ORDER BY id LIMIT ?`,
			micros(t.now.Add(-cacheIdle)), batch)
		if err != nil {
			return fmt.Errorf("unused caches: %w", err)
		}
		for caches.Next() {
			c, err := scanCache(caches)
			if err != nil {
				caches.Close()
				return err
			}
			out.Caches = append(out.Caches, c)
		}
		caches.Close()
		if err := caches.Err(); err != nil {
			return err
		}
		for _, c := range out.Caches {
			if _, err := t.exec(ctx, `DELETE FROM caches WHERE id = ?`, c.ID); err != nil {
				return fmt.Errorf("delete cache %d: %w", c.ID, err)
			}
		}
		return nil
	})
	return out, err
}
