package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	lathe "github.com/lathe-ci/lathe"
)

// NewRun is a run about to be created: the run itself, its stages in order,
// and its jobs (each naming its stage and the jobs it waits for).
type NewRun struct {
	Run    *lathe.Run
	Stages []string
	// ExternalStages are the stages an outside tool drives (see engine.ExternalUpdate).
	ExternalStages []string
	Jobs           []*lathe.Job
	// MaxRuns, when above 0, is how many unfinished runs the pipeline may
	// have: CreateRun refuses one more (the pipeline's `max-runs`).
	MaxRuns int
	// NumberPerBranch numbers a run of a branch from that branch's
	// sequence (the pipeline's `numbering: per-branch`); see numberRun.
	NumberPerBranch bool
	// Deployments are the deployments the run's deploy jobs record.
	Deployments []JobDeployment
	// Deployment, when set, is the deployment the run is the deploy run of.
	Deployment *RunDeployment
}

// CreateRun numbers and stores a run with its stages and jobs, and queues the
// jobs that wait for nothing — all in one transaction.
func (s *Store) CreateRun(ctx context.Context, nr NewRun) error {
	r := nr.Run
	stageIDs := map[string]int64{}
	return s.tx(ctx, func(t *txn) error {
		var err error
		if d := nr.Deployment; d != nil {
			if err := t.checkFree(ctx, d.EnvironmentID); err != nil {
				return fmt.Errorf("create deployment: %w", err)
			}
		}
		seq, branchNumber, err := t.numberRun(ctx, r, nr.NumberPerBranch)
		if err != nil {
			return err
		}
		// The counter's row lock, taken just above, serialises the runs of
		// one pipeline, so this count cannot race another trigger.
		if nr.MaxRuns > 0 {
			if err := t.checkMaxRuns(ctx, r.ProjectID, r.Pipeline, nr.MaxRuns); err != nil {
				return err
			}
		}
		r.Status, r.CreatedAt = lathe.StatusPending, t.now
		if r.Params == nil {
			r.Params = []lathe.EnvVar{} // as stored and read back: a list, never null
		}
		err = t.queryRow(ctx, `INSERT INTO runs (project_id, pipeline, number, ref, branch, commit_sha, event, status, created_at, parent_id,
				downstream_done, untrusted, params, pull_request, branch_number, pipeline_from_api)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?) RETURNING id`,
			r.ProjectID, r.Pipeline, seq, r.Ref, r.Branch, r.Commit, r.Event, r.Status, micros(t.now), r.ParentID,
			boolInt(r.Untrusted), jsonText(r.Params), nullInt(r.PullRequest), branchNumber, boolInt(r.PipelineFromAPI)).Scan(&r.ID)
		if err != nil {
			return fmt.Errorf("insert run: %w", err)
		}
		if err := t.enqueueRun(ctx, r.ID); err != nil {
			return err
		}
		for i, name := range nr.Stages {
			var id int64
			err := t.queryRow(ctx, `INSERT INTO stages (run_id, name, position, status, created_at, updated_at, external)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.ID, name, i, lathe.StatusPending, micros(t.now), micros(t.now),
				boolInt(slices.Contains(nr.ExternalStages, name))).Scan(&id)
			if err != nil {
				return fmt.Errorf("insert stage %q: %w", name, err)
			}
			stageIDs[name] = id
		}
		if err := t.insertJobs(ctx, r.ID, stageIDs, nr.Jobs); err != nil {
			return err
		}
		for _, j := range nr.Jobs {
			if err := t.putJobContainer(ctx, j); err != nil {
				return err
			}
			if err := t.putReportGlobs(ctx, j); err != nil {
				return err
			}
		}
		if err := t.putSemaphores(ctx, r.ProjectID, nr.Jobs); err != nil {
			return err
		}
		if err := t.putJobDeployments(ctx, r, nr.Deployments); err != nil {
			return err
		}
		if d := nr.Deployment; d != nil {
			if err := t.insertDeployment(ctx, d.EnvironmentID, d.CandidateID, r.ID, d.By).Scan(&d.ID); err != nil {
				return fmt.Errorf("record deployment of run %d: %w", r.ID, err)
			}
		}
		if r.Untrusted {
			if err := t.gateUntrusted(ctx, r); err != nil {
				return err
			}
		}
		err = t.advanceRun(ctx, r.ID)
		return err
	})
}

// jobsPerInsert bounds the jobs one statement of insertJobs writes.
const jobsPerInsert = 32

// insertJobs stores the jobs of the new run runID, pending, a few dozen per
// statement, and sets their IDs.
func (t *txn) insertJobs(ctx context.Context, runID int64, stageIDs map[string]int64, jobs []*lathe.Job) error {
	byName := make(map[string]*lathe.Job, len(jobs))
	for len(jobs) > 0 {
		n := min(len(jobs), jobsPerInsert)
		args := make([]any, 0, n*jobInsertCols)
		for _, j := range jobs[:n] {
			sid, ok := stageIDs[j.Stage]
			if !ok {
				return fmt.Errorf("job %q is in undeclared stage %q: %w", j.Name, j.Stage, lathe.ErrInvalid)
			}
			if byName[j.Name] != nil {
				return fmt.Errorf("two jobs named %q in one run: %w", j.Name, lathe.ErrInvalid)
			}
			byName[j.Name] = j
			j.RunID, j.StageID, j.Status, j.CreatedAt = runID, sid, lathe.StatusPending, t.now
			var group string
			var limit int
			if c := j.Concurrency; c != nil {
				if c.Group == "" || c.Limit < 1 {
					return fmt.Errorf("job %q: concurrency needs a group and a limit of at least 1: %w", j.Name, lathe.ErrInvalid)
				}
				group, limit = c.Group, c.Limit
			}
			retryCount, retryOn, approval := 0, "[]", ""
			if j.Retry != nil {
				retryCount, retryOn = j.Retry.Count, jsonText(j.Retry.On)
			}
			if j.Approval != nil {
				approval = jsonObject(j.Approval)
			}
			args = append(args, runID, sid, j.Name, j.Status, jsonText(j.Deps), jsonText(j.Needs), jsonText(j.RunsOn),
				j.TimeoutSec, jsonText(j.Env), jsonText(j.Steps), micros(t.now), group, limit, jsonText(j.Secrets),
				boolInt(j.AllowFailure), retryCount, retryOn, approval, j.Environment, runID)
		}
		// The IDs come back by name: RETURNING promises no order.
		rows, err := t.query(ctx, insertJobsSQL(n), args...)
		if err != nil {
			return fmt.Errorf("insert jobs of run %d: %w", runID, err)
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return fmt.Errorf("insert jobs of run %d: %w", runID, err)
			}
			if j := byName[name]; j != nil {
				j.ID = id
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("insert jobs of run %d: %w", runID, err)
		}
		for _, j := range jobs[:n] {
			if j.ID == 0 {
				return fmt.Errorf("insert jobs of run %d: job %q has no ID", runID, j.Name)
			}
		}
		jobs = jobs[n:]
	}
	return nil
}

// jobInsertCols is the number of columns insertJobsSQL writes per job.
const jobInsertCols = 20

// insertJobsSQL is the statement that inserts n jobs (1 ≤ n ≤
// jobsPerInsert), written once for each n.
func insertJobsSQL(n int) string { return insertJobsSQLs()[n] }

var insertJobsSQLs = sync.OnceValue(func() (qs [jobsPerInsert + 1]string) {
	row := `(` + placeholders(jobInsertCols) + `), `
	for n := 1; n <= jobsPerInsert; n++ {
		qs[n] = `INSERT INTO jobs (run_id, stage_id, name, status, deps, needs, runs_on, timeout_sec, env, steps, created_at,
			concurrency_group, concurrency_limit, secrets, allow_failure, retry_count, retry_on, approval, environment, queue_position)
			VALUES ` + strings.TrimSuffix(strings.Repeat(row, n), ", ") + ` RETURNING id, name`
	}
	return qs
})

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: cannot encode %T: %v", v, err)) // only plain slices reach here
	}
	if string(b) == "null" {
		return "[]"
	}
	return string(b)
}

// jsonObject encodes a struct for a TEXT column.
func jsonObject(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: cannot encode %T: %v", v, err)) // only plain structs reach here
	}
	return string(b)
}

func fromJSON(text string, v any) error { return json.Unmarshal([]byte(text), v) }

// RunFilter selects runs in Runs.
type RunFilter struct {
	ProjectID int64
	Pipeline  string
	Branch    string
	Ref       string // full ref (refs/heads/main) or its short name (main)
	Commit    string
	Status    lathe.Status
	Event     string // push, pull_request, manual, schedule, rerun…
	Before    int64
	Limit     int
	// Viewer limits the list to runs of projects it may read (nil: all).
	Viewer *Viewer

	// PullRequest, when above 0, keeps the runs of that pull request;
	// below 0, the runs of no pull request.
	PullRequest int64
}

const runCols = `r.id, r.project_id, p.name, r.pipeline, COALESCE(r.branch_number, r.number), r.ref, r.branch, r.commit_sha, r.event, r.status,
	r.created_at, r.started_at, r.finished_at, r.parent_id, r.untrusted, r.errors, r.params, r.pull_request,
	r.pipeline_from_api`

func scanRun(row interface{ Scan(...any) error }) (*lathe.Run, error) {
	var r lathe.Run
	var created int64
	var started, finished, parent, pull sql.NullInt64
	var untrusted, fromAPI int
	var problems, params string
	err := row.Scan(&r.ID, &r.ProjectID, &r.Project, &r.Pipeline, &r.Number, &r.Ref, &r.Branch, &r.Commit, &r.Event, &r.Status,
		&created, &started, &finished, &parent, &untrusted, &problems, &params, &pull, &fromAPI)
	if err != nil {
		return nil, err
	}
	if parent.Valid {
		r.ParentID = &parent.Int64
	}
	r.Untrusted, r.PullRequest, r.PipelineFromAPI = untrusted != 0, pull.Int64, fromAPI != 0
	if err := fromJSON(params, &r.Params); err != nil {
		return nil, fmt.Errorf("run %d params: %w", r.ID, err)
	}
	if problems != "[]" {
		if err := fromJSON(problems, &r.Errors); err != nil {
			return nil, fmt.Errorf("run %d errors: %w", r.ID, err)
		}
	}
	r.CreatedAt, r.StartedAt, r.FinishedAt = fromMicros(created), fromNullMicros(started), fromNullMicros(finished)
	r.Finish()
	return &r, nil
}

// Runs lists runs newest first.
func (s *Store) Runs(ctx context.Context, f RunFilter) (lathe.Page[*lathe.Run], error) {
	if f.Limit < 1 {
		return lathe.Page[*lathe.Run]{}, fmt.Errorf("list runs: limit %d: %w", f.Limit, lathe.ErrInvalid)
	}
	var where []string
	var args []any
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if f.ProjectID != 0 {
		add("r.project_id = ?", f.ProjectID)
	}
	if f.Pipeline != "" {
		add("r.pipeline = ?", f.Pipeline)
	}
	if f.Branch != "" {
		add("r.branch = ?", f.Branch)
	}
	if f.Ref != "" {
		where = append(where, "(r.ref = ? OR r.ref = ? OR r.ref = ?)")
		args = append(args, f.Ref, "refs/heads/"+f.Ref, "refs/tags/"+f.Ref)
	}
	if f.Commit != "" {
		add("r.commit_sha = ?", f.Commit)
	}
	if f.Status != "" {
		add("r.status = ?", string(f.Status))
	}
	switch {
	case f.PullRequest > 0:
		add("r.pull_request = ?", f.PullRequest)
	case f.PullRequest < 0:
		where = append(where, "r.pull_request IS NULL")
	}
	if f.Event != "" {
		add("r.event = ?", f.Event)
	}
	if f.Before > 0 {
		add("r.id < ?", f.Before)
	}
	if cond, a := f.Viewer.readable("r.project_id"); cond != "" {
		where, args = append(where, cond), append(args, a...)
	}
	q := `SELECT ` + runCols + ` FROM runs r JOIN projects p ON p.id = r.project_id` + whereClause(where) + ` ORDER BY r.id DESC LIMIT ?`
	rows, err := s.query(ctx, q, append(args, f.Limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.Run]{}, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var items []*lathe.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return lathe.Page[*lathe.Run]{}, fmt.Errorf("list runs: %w", err)
		}
		items = append(items, r)
	}
	return page(items, f.Limit, func(r *lathe.Run) int64 { return r.ID }), rows.Err()
}

// Run returns a run with its stages and jobs.
func (s *Store) Run(ctx context.Context, id int64) (*lathe.Run, error) {
	r, err := scanRun(s.queryRow(ctx, `SELECT `+runCols+` FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = ?`, id))
	if err != nil {
		return nil, notFound(err, "run", id)
	}
	if r.Stages, err = s.Stages(ctx, id); err != nil {
		return nil, err
	}
	if r.Jobs, err = s.jobs(ctx, `j.run_id = ?`, id); err != nil {
		return nil, err
	}
	return r, nil
}

const stageCols = `id, run_id, name, position, status, created_at, updated_at, started_at, finished_at, external`

func scanStage(row interface{ Scan(...any) error }) (*lathe.Stage, error) {
	var st lathe.Stage
	var created, updated int64
	var started, finished sql.NullInt64
	var external int
	if err := row.Scan(&st.ID, &st.RunID, &st.Name, &st.Position, &st.Status, &created, &updated, &started, &finished, &external); err != nil {
		return nil, err
	}
	st.External = external != 0
	st.CreatedAt, st.UpdatedAt = fromMicros(created), fromMicros(updated)
	st.StartedAt, st.FinishedAt = fromNullMicros(started), fromNullMicros(finished)
	st.Finish()
	return &st, nil
}

// Stages lists a run's stages in order. A run that does not exist is not found.
func (s *Store) Stages(ctx context.Context, runID int64) ([]*lathe.Stage, error) {
	rows, err := s.query(ctx, `SELECT `+stageCols+` FROM stages WHERE run_id = ? ORDER BY position`, runID)
	if err != nil {
		return nil, fmt.Errorf("list stages of run %d: %w", runID, err)
	}
	defer rows.Close()
	out := []*lathe.Stage{}
	for rows.Next() {
		st, err := scanStage(rows)
		if err != nil {
			return nil, fmt.Errorf("list stages of run %d: %w", runID, err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		var n int
		if err := s.queryRow(ctx, `SELECT count(*) FROM runs WHERE id = ?`, runID).Scan(&n); err != nil || n == 0 {
			return nil, fmt.Errorf("run %d: %w", runID, lathe.ErrNotFound)
		}
	}
	return out, nil
}

// Stage returns one stage.
func (s *Store) Stage(ctx context.Context, id int64) (*lathe.Stage, error) {
	st, err := scanStage(s.queryRow(ctx, `SELECT `+stageCols+` FROM stages WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "stage", id)
	}
	return st, nil
}

// CancelRun cancels every unfinished job of a run: jobs not yet started
// are canceled at once, running ones are asked to stop through their agents.
func (s *Store) CancelRun(ctx context.Context, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		var status lathe.Status
		if err := t.queryRow(ctx, `SELECT status FROM runs WHERE id = ?`+t.d.lockRun, id).Scan(&status); err != nil {
			return notFound(err, "run", id)
		}
		if status.Terminal() {
			return fmt.Errorf("run %d is already %s: %w", id, status, lathe.ErrConflict)
		}
		if _, err := t.exec(ctx, `UPDATE runs SET cancel_requested = 1 WHERE id = ?`, id); err != nil {
			return err
		}
		t.forgetRunHead(id)
		if err := t.requestCancel(ctx, `a.status = ? AND a.job_id IN (SELECT id FROM jobs WHERE run_id = ?)`, lathe.StatusRunning, id); err != nil {
			return err
		}
		err := t.advanceRun(ctx, id)
		return err
	})
}
