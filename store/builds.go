package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// BuildFilter selects finished jobs across runs (Zuul's builds search).
type BuildFilter struct {
	// Project, Pipeline, Job, Branch and Agent match exactly when set.
	Project, Pipeline, Job, Branch, Agent string
	// Ref keeps the jobs of runs of this ref: full (refs/tags/v1) or short (v1).
	Ref string
	// Result keeps jobs that ended so.
	Result lathe.Status
	// MinDuration and MaxDuration bound the job's running time (0: none).
	MinDuration, MaxDuration time.Duration
	// Since and Until bound the time the job finished (zero: none).
	Since, Until time.Time
	Before       int64
	Limit        int
	// Viewer limits the list to projects it may read (nil: all).
	Viewer *Viewer
}

const buildCols = `j.id, j.run_id, r.number, p.name, r.pipeline, j.name, r.branch, r.ref, r.commit_sha, r.event, j.status,
	COALESCE(ag.name, ''), j.started_at, j.finished_at, j.attempt`

// buildFrom is the jobs a builds search reads: finished ones that ran here
// (a job a re-run carried over is the job it was carried from, listed once).
const buildFrom = ` FROM jobs j JOIN runs r ON r.id = j.run_id JOIN projects p ON p.id = r.project_id
	LEFT JOIN attempts a ON a.job_id = j.id AND a.number = j.attempt
	LEFT JOIN agents ag ON ag.id = a.agent_id`

func (f BuildFilter) where() ([]string, []any) {
	where := []string{"j.finished_at IS NOT NULL", "j.carried_from IS NULL"}
	var args []any
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	for cond, v := range map[string]string{"p.name = ?": f.Project, "r.pipeline = ?": f.Pipeline, "j.name = ?": f.Job,
		"r.branch = ?": f.Branch, "ag.name = ?": f.Agent, "j.status = ?": string(f.Result)} {
		if v != "" {
			add(cond, v)
		}
	}
	if f.Ref != "" {
		where = append(where, "(r.ref = ? OR r.ref = ? OR r.ref = ?)")
		args = append(args, f.Ref, "refs/heads/"+f.Ref, "refs/tags/"+f.Ref)
	}
	if f.MinDuration > 0 {
		add("j.finished_at - j.started_at >= ?", f.MinDuration.Microseconds())
	}
	if f.MaxDuration > 0 {
		add("j.finished_at - j.started_at <= ?", f.MaxDuration.Microseconds())
	}
	if !f.Since.IsZero() {
		add("j.finished_at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("j.finished_at < ?", micros(f.Until))
	}
	if f.Before > 0 {
		add("j.id < ?", f.Before)
	}
	if cond, a := f.Viewer.readable("r.project_id"); cond != "" {
		where, args = append(where, cond), append(args, a...)
	}
	return where, args
}

// Builds lists finished jobs across runs, newest first.
func (s *Store) Builds(ctx context.Context, f BuildFilter) (lathe.Page[*lathe.Build], error) {
	if f.Limit < 1 {
		return lathe.Page[*lathe.Build]{}, fmt.Errorf("list builds: limit %d: %w", f.Limit, lathe.ErrInvalid)
	}
	where, args := f.where()
	rows, err := s.query(ctx, `SELECT `+buildCols+buildFrom+whereClause(where)+` ORDER BY j.id DESC LIMIT ?`, append(args, f.Limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.Build]{}, fmt.Errorf("list builds: %w", err)
	}
	defer rows.Close()
	var items []*lathe.Build
	for rows.Next() {
		var b lathe.Build
		var started, finished sql.NullInt64
		if err := rows.Scan(&b.ID, &b.RunID, &b.RunNumber, &b.Project, &b.Pipeline, &b.Job, &b.Branch, &b.Ref, &b.Commit, &b.Event,
			&b.Result, &b.Agent, &started, &finished, &b.Attempt); err != nil {
			return lathe.Page[*lathe.Build]{}, fmt.Errorf("list builds: %w", err)
		}
		b.StartedAt, b.FinishedAt = fromNullMicros(started), fromNullMicros(finished)
		if b.StartedAt != nil && b.FinishedAt != nil {
			d := b.FinishedAt.Sub(*b.StartedAt).Milliseconds()
			b.DurationMS = &d
		}
		items = append(items, &b)
	}
	return page(items, f.Limit, func(b *lathe.Build) int64 { return b.ID }), rows.Err()
}

// BuildTimes measures the running times of the finished jobs f selects
// that ran (started), newest first, at most f.Limit of them: count, min,
// max, mean and the 50th, 90th, 95th and 99th percentiles (nearest rank).
func (s *Store) BuildTimes(ctx context.Context, f BuildFilter) (*lathe.BuildTimes, error) {
	where, args := f.where()
	where = append(where, "j.started_at IS NOT NULL")
	rows, err := s.query(ctx, `SELECT j.id, j.run_id, j.name, r.branch, j.status, j.finished_at, j.finished_at - j.started_at`+
		buildFrom+whereClause(where)+` ORDER BY j.id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("build times: %w", err)
	}
	defer rows.Close()
	out := &lathe.BuildTimes{Items: []lathe.BuildTime{}}
	var ms []int64
	for rows.Next() {
		var b lathe.BuildTime
		var finished, dur int64
		if err := rows.Scan(&b.ID, &b.RunID, &b.Job, &b.Branch, &b.Result, &finished, &dur); err != nil {
			return nil, err
		}
		b.FinishedAt, b.DurationMS = fromMicros(finished), dur/1000
		out.Items = append(out.Items, b)
		ms = append(ms, b.DurationMS)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out.Count = len(ms)
	if len(ms) == 0 {
		return out, nil
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i] < ms[j] })
	var sum int64
	for _, v := range ms {
		sum += v
	}
	at := func(p int) *int64 {
		// Nearest rank: the smallest value with at least p% at or below it.
		i := (p*len(ms) + 99) / 100
		v := ms[max(i, 1)-1]
		return &v
	}
	avg := sum / int64(len(ms))
	out.MinMS, out.MaxMS, out.AvgMS = &ms[0], &ms[len(ms)-1], &avg
	out.P50MS, out.P90MS, out.P95MS, out.P99MS = at(50), at(90), at(95), at(99)
	return out, nil
}
