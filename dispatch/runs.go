package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/trigger"
)

// Trigger starts a run of one of the actor's project's pipelines by hand
// (the `manual` event), once the server has room to run it; with a pull
// request number, a run of that pull request's head (the `pull_request`
// event, Zuul's enqueue). It needs write on the project.
func (s *Service) Trigger(ctx context.Context, a Actor, req trigger.Request) (*lathe.Run, error) {
	if err := a.requireRole(lathe.RoleWrite); err != nil {
		return nil, err
	}
	req.Event = pipeline.EventManual
	req.By = a.User
	if req.PullRequest != 0 {
		var err error
		if req, err = s.pullRequestRun(ctx, a.Project, req); err != nil {
			return nil, err
		}
	}
	if err := s.RoomToRun(); err != nil {
		return nil, err
	}
	run, err := s.trigger.Trigger(ctx, a.Project, req)
	if err != nil {
		return nil, err
	}
	details := map[string]any{"run_id": run.ID, "pipeline": run.Pipeline, "ref": run.Ref}
	if run.PullRequest != 0 {
		details["pull_request"] = run.PullRequest
	}
	s.Audit(ctx, a.User, "run.triggered", a.Project, details)
	return s.store.Run(ctx, run.ID)
}

// TriggerPosted starts a run of pipeline YAML posted through the API at
// the request's ref (see trigger.Service.TriggerPosted). It needs write on
// the project, and the project must allow such runs (its owner's
// allow_api_pipelines): a writer could otherwise run any code at any
// commit without a review of the repository's pipeline.
func (s *Service) TriggerPosted(ctx context.Context, a Actor, req trigger.Request, yaml string) (*lathe.Run, error) {
	if err := a.requireRole(lathe.RoleWrite); err != nil {
		return nil, err
	}
	if !a.Project.AllowAPIPipelines {
		return nil, fmt.Errorf("project %s does not run pipelines posted through the API; an owner allows it with "+
			"allow_api_pipelines: true (such runs get no secrets): %w", a.Project.Name, lathe.ErrForbidden)
	}
	if err := s.RoomToRun(); err != nil {
		return nil, err
	}
	run, err := s.trigger.TriggerPosted(ctx, a.Project, req, yaml)
	if err != nil {
		return nil, err
	}
	s.Audit(ctx, a.User, "run.triggered", a.Project, map[string]any{"run_id": run.ID, "pipeline": run.Pipeline, "ref": run.Ref,
		"pipeline_from_api": true})
	return s.store.Run(ctx, run.ID)
}

// Event starts every pipeline of p whose `on:` takes a webhook's event at
// its ref, and returns the runs (none is not an error). The webhook's
// token is its credential, checked by the caller. A pull request from a
// fork starts untrusted runs: no secrets, and nothing runs until a user
// with write approves the commit (ApproveRun). An error with some runs
// started is not the caller's: the runs it did start are its answer.
func (s *Service) Event(ctx context.Context, p *lathe.Project, req trigger.EventRequest) ([]*lathe.Run, error) {
	switch req.Kind {
	case "":
		req.Kind = pipeline.EventWebhook
	case pipeline.EventPush, pipeline.EventWebhook, pipeline.EventPullRequest:
	default:
		return nil, invalidf("event: %q is not push, pull_request or webhook", req.Kind)
	}
	if req.Untrusted && req.Kind != pipeline.EventPullRequest {
		return nil, invalidf("fork: only a pull_request comes from a fork")
	}
	if err := s.RoomToRun(); err != nil {
		return nil, err
	}
	runs, err := s.trigger.Event(ctx, p, req)
	if err != nil && len(runs) == 0 {
		return nil, err
	}
	if runs == nil {
		runs = []*lathe.Run{}
	}
	return runs, nil
}

// CancelRun cancels a run: its queued jobs at once, its running ones once
// their agents hear of it. It needs write on the project.
func (s *Service) CancelRun(ctx context.Context, a Actor, runID int64) error {
	return s.act(ctx, a, "run.canceled", "run", runID, s.store.CancelRun)
}

// CancelJob cancels one job; the jobs that need it are skipped. It needs
// write on the project.
func (s *Service) CancelJob(ctx context.Context, a Actor, jobID int64) error {
	return s.act(ctx, a, "job.canceled", "job", jobID, s.store.CancelJob)
}

// RerunJob re-runs a finished job of a finished run, with the jobs that
// need it, as a new run that carries the other jobs' results over (see
// store.RerunJob). It needs write on the project.
func (s *Service) RerunJob(ctx context.Context, a Actor, jobID int64) (*lathe.Run, error) {
	return s.rerunAs(ctx, a, "job.rerun", map[string]any{"job_id": jobID}, func() (*lathe.Run, error) {
		return s.store.RerunJob(ctx, jobID, a.User)
	})
}

// RerunFailed re-runs the failed jobs of a finished run, with the jobs that
// need them, as a new run (see store.RerunFailed). It needs write on the
// project.
func (s *Service) RerunFailed(ctx context.Context, a Actor, runID int64) (*lathe.Run, error) {
	return s.rerunAs(ctx, a, "run.rerun_failed", map[string]any{"parent_run_id": runID}, func() (*lathe.Run, error) {
		return s.store.RerunFailed(ctx, runID, a.User)
	})
}

// rerunAs makes a re-run's new run on the actor's behalf once the actor's
// role allows it and the server has room to run it, and records it in the
// audit log with details and the new run's ID.
func (s *Service) rerunAs(ctx context.Context, a Actor, action string, details map[string]any, rerun func() (*lathe.Run, error)) (*lathe.Run, error) {
	if err := a.requireRole(lathe.RoleWrite); err != nil {
		return nil, err
	}
	if err := s.RoomToRun(); err != nil {
		return nil, err
	}
	run, err := rerun()
	if err != nil {
		return nil, err
	}
	details["run_id"] = run.ID
	s.Audit(ctx, a.User, action, a.Project, details)
	return run, nil
}

// act applies a store action to the run or job id on the actor's behalf,
// once the actor's role allows it, and records it in the audit log.
func (s *Service) act(ctx context.Context, a Actor, action, kind string, id int64, do func(context.Context, int64) error) error {
	if err := a.requireRole(lathe.RoleWrite); err != nil {
		return err
	}
	if err := do(ctx, id); err != nil {
		return err
	}
	s.Audit(ctx, a.User, action, a.Project, map[string]any{kind + "_id": id})
	return nil
}

// Rerun starts a new run of the same pipeline at the same commit as the
// run parentID, linked to it, once the server has room to run it. It
// needs write on the project. Its deploy jobs deploy as the re-running
// user's (see trigger's deployJobs); the re-run of a deployment's deploy
// run is a new deployment of the same candidate (see redeploy).
func (s *Service) Rerun(ctx context.Context, a Actor, parentID int64) (*lathe.Run, error) {
	if err := a.requireRole(lathe.RoleWrite); err != nil {
		return nil, err
	}
	parent, err := s.store.Run(ctx, parentID)
	if err != nil {
		return nil, err
	}
	p, err := s.store.Project(ctx, strconv.FormatInt(parent.ProjectID, 10))
	if err != nil {
		return nil, err
	}
	if err := s.RoomToRun(); err != nil {
		return nil, err
	}
	var run *lathe.Run
	switch env, version, n, err := s.store.DeployRunTarget(ctx, parent.ID); {
	case err == nil:
		run, err = s.redeploy(ctx, a, p, parent, env, version, n)
		if err != nil {
			return nil, err
		}
	case errors.Is(err, lathe.ErrNotFound):
		if run, err = s.trigger.Rerun(ctx, p, parent, trigger.Request{By: a.User}); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	s.Audit(ctx, a.User, "run.rerun", p, map[string]any{"run_id": run.ID, "parent_run_id": parent.ID})
	return s.store.Run(ctx, run.ID)
}
