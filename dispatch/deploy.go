package dispatch

import (
	"context"
	"errors"

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
	if c.Status != "ready" {
		return nil, conflictf("release candidate %s is %s; only a ready candidate can be deployed", c.Version, c.Status)
	}
	id, err := s.store.CreateDeployment(ctx, e.ID, c.ID, "pending", a.User)
	if err != nil {
		return nil, err
	}
	run, err := s.Trigger(ctx, a, trigger.Request{Pipeline: e.DeployPipeline, Ref: c.Commit,
		Params: map[string]string{"version": c.Version, "environment": e.Name}, Gate: e.Gate("Deploy "+c.Version+" to "+e.Name+"?", a.User),
		Candidate: c.ID, Deploys: e.Name})
	if err != nil {
		if rerr := s.store.ReportDeploymentStatus(ctx, id, "failure"); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, err
	}
	if err := s.store.SetDeploymentRun(ctx, id, run.ID); err != nil {
		return nil, err
	}
	s.Audit(ctx, a.User, "deployment.created", a.Project, map[string]any{"environment": e.Name, "version": c.Version, "run_id": run.ID})
	return s.store.Deployment(ctx, id)
}
