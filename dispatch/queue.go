package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/trigger"
)

// Queue control (Zuul's enqueue, dequeue and promote) and run numbers
// (Kraken's sequences).

// forgeKind is the kind of forge a project's repository is on, which says
// how its pull requests' head refs are named. A project with no forge is
// taken to be on GitHub, whose refs/pull/N/head Gitea, Forgejo and Gogs
// share.
func (s *Service) forgeKind(ctx context.Context, p *lathe.Project) (forge.Kind, error) {
	if p.ForgeID == 0 {
		return forge.GitHub, nil
	}
	f, err := s.store.Forge(ctx, strconv.FormatInt(p.ForgeID, 10))
	if err != nil {
		return "", err
	}
	return forge.Kind(f.Kind), nil
}

// pullRequestRun turns a request to build pull request n into a request
// for its head ref, with the pull_request event.
func (s *Service) pullRequestRun(ctx context.Context, p *lathe.Project, req trigger.Request) (trigger.Request, error) {
	if req.PullRequest < 0 {
		return req, invalidf("pull_request: %d is not a pull request number (1 or more)", req.PullRequest)
	}
	kind, err := s.forgeKind(ctx, p)
	if err != nil {
		return req, err
	}
	if req.Ref != "" {
		return req, invalidf("ref and pull_request: give one; a pull request's run builds its head ref (%s)",
			forge.PullRef(kind, req.PullRequest))
	}
	req.Ref, req.Event = forge.PullRef(kind, req.PullRequest), pipeline.EventPullRequest
	return req, nil
}

// Dequeue says which unfinished runs of a project to cancel: those of a
// ref or those of a pull request (one of the two), of one pipeline or of
// all.
type Dequeue struct {
	Ref         string
	PullRequest int64
	Pipeline    string
}

// Dequeue cancels the queued and running runs of a ref or of a pull
// request, each as CancelRun does, and returns them as they are once
// canceled (a running job ends when its agent hears). None is not an
// error. It needs write on the project.
func (s *Service) Dequeue(ctx context.Context, a Actor, d Dequeue) ([]*lathe.Run, error) {
	if err := a.requireRole(lathe.RoleWrite); err != nil {
		return nil, err
	}
	switch {
	case (d.Ref == "") == (d.PullRequest == 0):
		return nil, invalidf("ref and pull_request: give one of them, the ref or the pull request whose runs to cancel")
	case d.PullRequest < 0:
		return nil, invalidf("pull_request: %d is not a pull request number (1 or more)", d.PullRequest)
	}
	runs, err := s.store.UnfinishedRuns(ctx, store.QueueFilter{ProjectID: a.Project.ID, Pipeline: d.Pipeline,
		Ref: d.Ref, PullRequest: d.PullRequest})
	if err != nil {
		return nil, err
	}
	out := []*lathe.Run{}
	for _, r := range runs {
		if err := s.store.CancelRun(ctx, r.ID); errors.Is(err, lathe.ErrConflict) {
			continue // it ended first
		} else if err != nil {
			return out, err
		}
		details := map[string]any{"run_id": r.ID, "pipeline": r.Pipeline, "ref": r.Ref}
		if r.PullRequest != 0 {
			details["pull_request"] = r.PullRequest
		}
		s.Audit(ctx, a.User, "run.dequeued", a.Project, details)
		now, err := s.store.Run(ctx, r.ID)
		if err != nil {
			return out, err
		}
		out = append(out, now)
	}
	return out, nil
}

// PromoteRun moves an unfinished run to the front of its pipeline's queue
// (see store.PromoteRun). It needs write on the project.
func (s *Service) PromoteRun(ctx context.Context, a Actor, runID int64) error {
	return s.act(ctx, a, "run.promoted", "run", runID, s.store.PromoteRun)
}

// Sequence says where the run numbers of a pipeline of the actor's project
// stand: the pipeline's sequence, or with branch a branch's (for a
// pipeline numbered per branch). It needs read on the project.
func (s *Service) Sequence(ctx context.Context, a Actor, pipelineName, branch string) (*lathe.Sequence, error) {
	if err := a.requireRole(lathe.RoleRead); err != nil {
		return nil, err
	}
	if !pipeline.ValidName(pipelineName) {
		return nil, invalidf("pipeline: %q is not a pipeline name", pipelineName)
	}
	return s.store.Sequence(ctx, a.Project.ID, pipelineName, branch)
}

// SetSequence sets the number the next run of a pipeline of the actor's
// project takes (of a branch's runs, with branch). Sequences only move
// forward: a number at or below one already given is refused (a conflict),
// since run numbers name builds in links, logs and versions. It needs
// owner on the project (admins have it).
func (s *Service) SetSequence(ctx context.Context, a Actor, pipelineName, branch string, next int64) (*lathe.Sequence, error) {
	if err := a.requireRole(lathe.RoleOwner); err != nil {
		return nil, err
	}
	if !pipeline.ValidName(pipelineName) {
		return nil, invalidf("pipeline: %q is not a pipeline name", pipelineName)
	}
	seq, err := s.store.SetSequence(ctx, a.Project.ID, pipelineName, branch, next)
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", pipelineName, err)
	}
	s.Audit(ctx, a.User, "sequence.set", a.Project, map[string]any{"pipeline": pipelineName, "branch": branch, "next": next})
	return seq, nil
}
