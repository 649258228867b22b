package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// statsSeries is how many finished runs a duration series holds.
const statsSeries = 100

// RunStats counts a project's runs (of pipeline and branch, when set) in
// all, in the last week and month, their mean durations over the same
// spans, and the durations of the last finished runs (Kraken's branch stats).
func (s *Store) RunStats(ctx context.Context, projectID int64, pipeline, branch string) (*lathe.RunStats, error) {
	where := []string{"project_id = ?"}
	args := []any{projectID}
	if pipeline != "" {
		where, args = append(where, "pipeline = ?"), append(args, pipeline)
	}
	if branch != "" {
		where, args = append(where, "branch = ?"), append(args, branch)
	}
	now := s.now()
	week, month := micros(now.Add(-7*24*time.Hour)), micros(now.Add(-30*24*time.Hour))
	out := &lathe.RunStats{Durations: []lathe.RunDuration{}}
	var all, lastWeek, lastMonth sql.NullFloat64
	// A finished run that never started (all skipped) has no duration.
	ran := `finished_at IS NOT NULL AND started_at IS NOT NULL`
	q := `SELECT count(*),
			COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0),
			AVG(CASE WHEN ` + ran + ` THEN finished_at - started_at END),
			AVG(CASE WHEN ` + ran + ` AND created_at >= ? THEN finished_at - started_at END),
			AVG(CASE WHEN ` + ran + ` AND created_at >= ? THEN finished_at - started_at END)
		FROM runs` + whereClause(where)
	err := s.queryRow(ctx, q, append([]any{week, month, week, month}, args...)...).
		Scan(&out.Total, &out.LastWeek, &out.LastMonth, &all, &lastWeek, &lastMonth)
	if err != nil {
		return nil, fmt.Errorf("run stats of project %d: %w", projectID, err)
	}
	out.AvgDurationMS, out.AvgDurationLastWeekMS, out.AvgDurationLastMonthMS = msOf(all), msOf(lastWeek), msOf(lastMonth)
	rows, err := s.query(ctx, `SELECT id, number, status, finished_at, finished_at - started_at FROM runs`+
		whereClause(append(where, ran))+` ORDER BY id DESC LIMIT ?`, append(args, statsSeries)...)
	if err != nil {
		return nil, fmt.Errorf("run durations of project %d: %w", projectID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var d lathe.RunDuration
		var finished, dur int64
		if err := rows.Scan(&d.RunID, &d.Number, &d.Status, &finished, &dur); err != nil {
			return nil, err
		}
		d.FinishedAt, d.DurationMS = fromMicros(finished), dur/1000
		out.Durations = append(out.Durations, d)
	}
	for i, j := 0, len(out.Durations)-1; i < j; i, j = i+1, j-1 {
		out.Durations[i], out.Durations[j] = out.Durations[j], out.Durations[i]
	}
	return out, rows.Err()
}

// msOf turns a mean of microseconds into whole milliseconds (nil for none).
func msOf(v sql.NullFloat64) *int64 {
	if !v.Valid {
		return nil
	}
	ms := int64(v.Float64 / 1000)
	return &ms
}

// LatestFinishedRun is the newest finished run of the project (of pipeline
// and branch, when set) that is of no pull request: a pull request's runs
// record the branch they target, and say nothing of it. Not found when
// there is none.
func (s *Store) LatestFinishedRun(ctx context.Context, projectID int64, pipeline, branch string) (*lathe.Run, error) {
	where := []string{"r.project_id = ?", "r.finished_at IS NOT NULL", "r.pull_request IS NULL"}
	args := []any{projectID}
	if pipeline != "" {
		where, args = append(where, "r.pipeline = ?"), append(args, pipeline)
	}
	if branch != "" {
		where, args = append(where, "r.branch = ?"), append(args, branch)
	}
	r, err := scanRun(s.queryRow(ctx, `SELECT `+runCols+` FROM runs r JOIN projects p ON p.id = r.project_id`+
		whereClause(where)+` ORDER BY r.id DESC LIMIT 1`, args...))
	if err != nil {
		return nil, notFound(err, "finished run of project", projectID)
	}
	return r, nil
}
