package dispatch

import (
	"context"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/trigger"
)

// TriggerAll starts every pipeline of the actor's project that the
// request's event selects at its ref (see trigger.Service.TriggerAll):
// a manual request, or with PullRequest set that pull request's head with
// event pull_request. It needs write on the project. It returns the runs
// (each with its stages and jobs) and why the pipelines it could not
// start did not.
func (s *Service) TriggerAll(ctx context.Context, a Actor, req trigger.Request) ([]*lathe.Run, []string, error) {
	if err := a.requireRole(lathe.RoleWrite); err != nil {
		return nil, nil, err
	}
	req.Event = pipeline.EventManual
	if req.PullRequest != 0 {
		var err error
		if req, err = s.pullRequestRun(ctx, a.Project, req); err != nil {
			return nil, nil, err
		}
	}
	if err := s.RoomToRun(); err != nil {
		return nil, nil, err
	}
	started, skipped, err := s.trigger.TriggerAll(ctx, a.Project, req)
	if err != nil {
		return nil, nil, err
	}
	runs := make([]*lathe.Run, 0, len(started))
	for _, run := range started {
		details := map[string]any{"run_id": run.ID, "pipeline": run.Pipeline, "ref": run.Ref, "all_pipelines": true}
		if run.PullRequest != 0 {
			details["pull_request"] = run.PullRequest
		}
		s.Audit(ctx, a.User, "run.triggered", a.Project, details)
		full, err := s.store.Run(ctx, run.ID)
		if err != nil {
			return nil, nil, err
		}
		runs = append(runs, full)
	}
	why := make([]string, len(skipped))
	for i, e := range skipped {
		why[i] = e.Error()
	}
	return runs, why, nil
}
