package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// Run numbers come from sequences: each pipeline has one (run_counters),
// and a pipeline numbered per branch has one per branch as well
// (branch_counters). A run always takes the pipeline's next number, which
// keeps runs.number unique per pipeline; a run of a branch of a pipeline
// numbered per branch also takes its branch's next number, and shows that
// one (runs.branch_number). Sequences only move forward: a number given
// once is never given again, since links, logs and versions built from
// LATHE_RUN_NUMBER name it.

// numberRun takes the numbers of a new run: the pipeline's next (seq),
// and, when perBranch and the run is of a branch (not a tag, a commit or a
// pull request), the branch's next, which becomes r.Number.
func (t *txn) numberRun(ctx context.Context, r *lathe.Run, perBranch bool) (seq int64, branchNumber sql.NullInt64, err error) {
	if seq, err = t.nextNumber(ctx, r.ProjectID, r.Pipeline); err != nil {
		return 0, branchNumber, err
	}
	r.Number = seq
	if !perBranch || r.Branch == "" || r.PullRequest != 0 {
		return seq, branchNumber, nil
	}
	err = t.queryRow(ctx, `INSERT INTO branch_counters (project_id, pipeline, branch, last_number) VALUES (?, ?, ?, 1)
		ON CONFLICT (project_id, pipeline, branch) DO UPDATE SET last_number = branch_counters.last_number + 1
		RETURNING last_number`, r.ProjectID, r.Pipeline, r.Branch).Scan(&r.Number)
	if err != nil {
		return 0, branchNumber, fmt.Errorf("number run on branch %s: %w", r.Branch, err)
	}
	return seq, sql.NullInt64{Int64: r.Number, Valid: true}, nil
}

// Sequence says where a pipeline's sequence stands: the pipeline's own
// when branch is "", else that branch's. A pipeline that has no run yet
// starts at 1.
func (s *Store) Sequence(ctx context.Context, projectID int64, pipeline, branch string) (*lathe.Sequence, error) {
	c := counterOf(projectID, pipeline, branch)
	var last int64
	err := s.queryRow(ctx, `SELECT last_number FROM `+c.table+` WHERE `+c.where, c.args...).Scan(&last)
	if err != nil && err != sql.ErrNoRows {
		return nil, fmt.Errorf("sequence of %s: %w", pipeline, err)
	}
	return &lathe.Sequence{Pipeline: pipeline, Branch: branch, Next: last + 1}, nil
}

// MaxSequence bounds the next number a sequence may be set to, well
// inside every integer type a client may read it into.
const MaxSequence = 1 << 50

// SetSequence sets the number the next run of a pipeline takes (of a
// branch's, when branch is not ""). It may only move forward: a next
// number at or below one already given is a conflict, naming the last.
func (s *Store) SetSequence(ctx context.Context, projectID int64, pipeline, branch string, next int64) (*lathe.Sequence, error) {
	if next < 1 || next > MaxSequence {
		return nil, fmt.Errorf("next: %d must be a run number from 1 to %d: %w", next, int64(MaxSequence), lathe.ErrInvalid)
	}
	c := counterOf(projectID, pipeline, branch)
	err := s.tx(ctx, func(t *txn) error {
		// The counter row's lock, as nextNumber takes it, keeps runs from
		// being numbered between the check and the write.
		if _, err := t.exec(ctx, `INSERT INTO `+c.table+` (`+c.cols+`, last_number) VALUES (`+placeholders(len(c.args))+`, 0)
			ON CONFLICT DO NOTHING`, c.args...); err != nil {
			return fmt.Errorf("sequence of %s: %w", pipeline, err)
		}
		var last int64
		if err := t.queryRow(ctx, `SELECT last_number FROM `+c.table+` WHERE `+c.where+t.d.lockRun, c.args...).Scan(&last); err != nil {
			return fmt.Errorf("sequence of %s: %w", pipeline, err)
		}
		if next <= last {
			return fmt.Errorf("next: %d is at or below %d, a run number already given; a sequence only moves forward (next must be at least %d): %w",
				next, last, last+1, lathe.ErrConflict)
		}
		_, err := t.exec(ctx, `UPDATE `+c.table+` SET last_number = ? WHERE `+c.where, append([]any{next - 1}, c.args...)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &lathe.Sequence{Pipeline: pipeline, Branch: branch, Next: next}, nil
}

// counter is the row of a pipeline's sequence, or of a branch's.
type counter struct {
	table, cols, where string
	args               []any
}

func counterOf(projectID int64, pipeline, branch string) counter {
	if branch == "" {
		return counter{"run_counters", "project_id, pipeline", "project_id = ? AND pipeline = ?", []any{projectID, pipeline}}
	}
	return counter{"branch_counters", "project_id, pipeline, branch", "project_id = ? AND pipeline = ? AND branch = ?",
		[]any{projectID, pipeline, branch}}
}
