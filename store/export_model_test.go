package store

import (
	"context"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// ModelState is the scheduling state of one project as the model-based test
// (model_test.go) reads it after every step: in four queries, where the
// exported API would take a few per run and job. Only the fields the
// checks use are filled in.
type ModelState struct {
	// Runs are oldest first, with their Stages and Jobs (whose Attempts
	// are left empty; see Attempts).
	Runs     []*lathe.Run
	Attempts []*lathe.Attempt
	// TrustGated jobs wait behind their run's trust gate; CancelRequested
	// runs had their cancel asked for. The API shows neither; the engine
	// decides with both.
	TrustGated, CancelRequested map[int64]bool
}

// ReadModelState reads the state of the project's runs.
func ReadModelState(ctx context.Context, s *Store, projectID int64) (*ModelState, error) {
	st := &ModelState{TrustGated: map[int64]bool{}, CancelRequested: map[int64]bool{}}
	runs := map[int64]*lathe.Run{}
	err := scanAll(ctx, s, `SELECT id, status, untrusted, cancel_requested FROM runs WHERE project_id = ? ORDER BY id`,
		projectID, func(scan func(...any) error) error {
			r := &lathe.Run{Stages: []*lathe.Stage{}, Jobs: []*lathe.Job{}}
			var cancel int
			if err := scan(&r.ID, &r.Status, &r.Untrusted, &cancel); err != nil {
				return err
			}
			st.CancelRequested[r.ID] = cancel != 0
			runs[r.ID] = r
			st.Runs = append(st.Runs, r)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("model runs: %w", err)
	}
	err = scanAll(ctx, s, `SELECT s.id, s.run_id, s.name, s.status FROM stages s JOIN runs r ON r.id = s.run_id
		WHERE r.project_id = ? ORDER BY s.position`, projectID, func(scan func(...any) error) error {
		sg := &lathe.Stage{}
		if err := scan(&sg.ID, &sg.RunID, &sg.Name, &sg.Status); err != nil {
			return err
		}
		runs[sg.RunID].Stages = append(runs[sg.RunID].Stages, sg)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("model stages: %w", err)
	}
	err = scanAll(ctx, s, `SELECT j.id, j.run_id, j.stage_id, j.name, j.status, j.deps, j.attempt, j.allow_failure,
			j.approval <> '', j.approved_at IS NOT NULL, j.concurrency_group, j.concurrency_limit, j.trust_gate
		FROM jobs j JOIN runs r ON r.id = j.run_id WHERE r.project_id = ? ORDER BY j.id`, projectID,
		func(scan func(...any) error) error {
			j := &lathe.Job{}
			var deps, group string
			var gated, approved bool
			var limit, trust int
			if err := scan(&j.ID, &j.RunID, &j.StageID, &j.Name, &j.Status, &deps, &j.Attempt, &j.AllowFailure,
				&gated, &approved, &group, &limit, &trust); err != nil {
				return err
			}
			if err := fromJSON(deps, &j.Deps); err != nil {
				return err
			}
			if gated {
				j.Approval = &lathe.Approval{}
				if approved {
					j.Approval.ApprovedAt = new(time.Time) // when does not matter here
				}
			}
			if group != "" {
				j.Concurrency = &lathe.Concurrency{Group: group, Limit: limit}
			}
			st.TrustGated[j.ID] = trust != 0
			runs[j.RunID].Jobs = append(runs[j.RunID].Jobs, j)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("model jobs: %w", err)
	}
	err = scanAll(ctx, s, `SELECT a.id, a.job_id, a.number, a.agent_id, a.status FROM attempts a JOIN jobs j ON j.id = a.job_id
		JOIN runs r ON r.id = j.run_id WHERE r.project_id = ? ORDER BY a.id`, projectID, func(scan func(...any) error) error {
		a := &lathe.Attempt{}
		if err := scan(&a.ID, &a.JobID, &a.Number, &a.AgentID, &a.Status); err != nil {
			return err
		}
		st.Attempts = append(st.Attempts, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("model attempts: %w", err)
	}
	return st, nil
}

// scanAll runs q with one argument and calls row for each row.
func scanAll(ctx context.Context, s *Store, q string, arg any, row func(scan func(...any) error) error) error {
	rows, err := s.query(ctx, q, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
