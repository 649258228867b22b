package trigger

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// deployJobs applies the server's environments to the deploy jobs of a new
// run. A job deploys to an environment when it says `environment: NAME`, or
// when its run is the deploy run of a deployment to NAME (every job of such
// a run deploys there). For each job deploying to an environment the
// project defines on the server, and never from what the pipeline file
// says about protection:
//
//   - it holds the environment's lock, the semaphore
//     lathe.EnvironmentLock(NAME) with limit 1, in place of any concurrency
//     group of its own: one deployment at a time, a second waits queued;
//   - in a protected environment, its gate is the environment's (its
//     approvers, its second-person rule), in place of any `approval:` of
//     its own; the deploy run of a deployment has its gate already (see
//     gateRoots);
//   - it records a deployment, of the candidate the run was started for or
//     else of the run's commit, whose status follows the job; the deploy
//     run of a deployment records none more for its own environment: the
//     run records that deployment itself (store.RunDeployment), with the
//     environment's lock checked in the same transaction.
//
// A job naming an environment the server does not define deploys nowhere
// the server tracks: no lock, no gate, no deployment, no environment
// variables. Neither does any job of a run that gets no secrets (an
// untrusted run, a fork's pull request; or one of a pipeline posted
// through the API): it cannot reach what the environment guards, so it
// records no deployment, which would show its commit as what runs there,
// and takes no lock, which would hold up the real deployments.
func (s *Service) deployJobs(ctx context.Context, p *lathe.Project, l launch, nr *store.NewRun) error {
	if l.untrusted || l.fromAPI {
		return nil
	}
	deploys := l.deploys != ""
	for _, j := range nr.Jobs {
		deploys = deploys || j.Environment != ""
	}
	if !deploys {
		return nil
	}
	envs, err := s.Store.Environments(ctx, p.ID)
	if err != nil {
		return err
	}
	byName := map[string]*lathe.Environment{}
	for _, e := range envs {
		byName[e.Name] = e
	}
	by := l.by
	if by == "" {
		by = l.event
	}
	if l.deploys != "" {
		e := byName[l.deploys]
		if e == nil {
			return fmt.Errorf("environment %q: %w", l.deploys, lathe.ErrNotFound)
		}
		nr.Deployment = &store.RunDeployment{EnvironmentID: e.ID, CandidateID: l.candidate, By: by}
	}
	for _, j := range nr.Jobs {
		if j.Environment == "" {
			j.Environment = l.deploys
		}
		e := byName[j.Environment]
		if e == nil {
			continue
		}
		j.Concurrency = &lathe.Concurrency{Group: lathe.EnvironmentLock(e.Name), Limit: 1}
		if e.Name == l.deploys {
			continue
		}
		if g := e.Gate("Deploy "+j.Name+" to "+e.Name+"?", l.by); g != nil {
			j.Approval = g
		}
		nr.Deployments = append(nr.Deployments, store.JobDeployment{Job: j, EnvironmentID: e.ID, CandidateID: l.candidate, By: by})
	}
	return nil
}
