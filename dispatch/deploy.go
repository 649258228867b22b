package dispatch

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/trigger"
)

// Deploy starts a deployment of candidate c to environment e of a's
// project: it records the deployment, by a's user, and starts the
// environment's deploy pipeline at the candidate's commit with the
// parameters version and environment, behind the environment's gate when
// it is protected. It needs write on the project, and is a conflict while
// another deployment the server runs there is unfinished.
func (s *Service) Deploy(ctx context.Context, a Actor, e *lathe.Environment, c *lathe.Candidate) (*lathe.Deployment, error) {
	if err := a.requireRole(lathe.RoleWrite); err != nil {
		return nil, err
	}
	if e.DeployPipeline == "" {
		return nil, invalidf("environment %s has no deploy_pipeline; set one, or report deployments with PATCH", e.Name)
	}
	return s.deploy(ctx, a, e, c, func(req trigger.Request) (*lathe.Run, error) {
		req.Pipeline, req.Ref = e.DeployPipeline, c.Commit
		req.Params = map[string]string{"version": c.Version, "environment": e.Name}
		return s.Trigger(ctx, a, req)
	})
}

// deploy has start start the deploy run of a deployment of c to e by a's
// user, with the deployment's part of the request: the environment's gate
// (its approvers; a's user may not answer it when it demands a second
// person), the candidate and the environment. The run records the
// deployment as it is stored, after checking the environment is free, so a
// deployment never exists without its run (see store.RunDeployment).
func (s *Service) deploy(ctx context.Context, a Actor, e *lathe.Environment, c *lathe.Candidate,
	start func(trigger.Request) (*lathe.Run, error)) (*lathe.Deployment, error) {
	if c.Status != "ready" {
		return nil, conflictf("release candidate %s is %s; only a ready candidate can be deployed", c.Version, c.Status)
	}
	if err := s.store.CheckEnvironmentFree(ctx, e.ID); err != nil {
		return nil, fmt.Errorf("create deployment: %w", err)
	}
	run, err := start(trigger.Request{Gate: e.Gate("Deploy "+c.Version+" to "+e.Name+"?", a.User), By: a.User,
		Candidate: c.ID, Deploys: e.Name})
	if err != nil {
		return nil, err
	}
	s.Audit(ctx, a.User, "deployment.created", a.Project, map[string]any{"environment": e.Name, "version": c.Version, "run_id": run.ID})
	return s.store.DeploymentOfRun(ctx, run.ID)
}

// redeploy re-runs parent, the deploy run of a deployment of the
// candidate VERSION-rcN to env, as a new deployment of that candidate
// there by a's user: recorded like any other, behind the environment's
// gate as it is now, holding its lock. A re-run is never a way around
// the gate or the second-person rule of the deployment it repeats.
func (s *Service) redeploy(ctx context.Context, a Actor, p *lathe.Project, parent *lathe.Run, env, version string, n int) (*lathe.Run, error) {
	e, err := s.store.Environment(ctx, p.ID, env)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Candidate(ctx, p.ID, version, n)
	if err != nil {
		return nil, err
	}
	a.Project = p
	d, err := s.deploy(ctx, a, e, c, func(req trigger.Request) (*lathe.Run, error) {
		return s.trigger.Rerun(ctx, p, parent, req)
	})
	if err != nil {
		return nil, err
	}
	return &lathe.Run{ID: d.RunID}, nil
}
