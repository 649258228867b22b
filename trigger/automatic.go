package trigger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/store"
)

// Downstream starts, at the same commit, every other pipeline whose `on:
// pipeline: after` names the pipeline of run, which succeeded (Kraken's
// parent trigger). The new runs name run as their parent, and inherit its
// trust: code from a fork stays untrusted whichever pipeline runs it, so
// approving the fork's commit lets its downstream run but never gives it
// secrets.
func (s *Service) Downstream(ctx context.Context, run *lathe.Run) ([]*lathe.Run, error) {
	if run.Status != lathe.StatusSuccess {
		return nil, nil
	}
	p, err := s.Store.Project(ctx, strconv.FormatInt(run.ProjectID, 10))
	if err != nil {
		return nil, err
	}
	ref, ps, err := s.Pipelines(ctx, p, run.Commit)
	if err != nil {
		return nil, err
	}
	ref.Ref, ref.Branch = run.Ref, run.Branch
	parent := run.ID
	var started []*lathe.Run
	var errs []error
	for _, pl := range ps {
		if pl.Name == run.Pipeline || !pl.Triggers.Matches(pipeline.Event{Kind: pipeline.EventPipeline, Upstream: run.Pipeline}) {
			continue
		}
		r, err := s.start(ctx, p, pl, ref, launch{event: pipeline.EventPipeline, upstream: run.Pipeline, parent: &parent,
			untrusted: run.Untrusted})
		if err != nil {
			errs = append(errs, fmt.Errorf("pipeline %s after %s: %w", pl.Name, run.Pipeline, err))
			continue
		}
		started = append(started, r)
	}
	return started, errors.Join(errs...)
}

// FireSchedules starts a run for every cron schedule of every project's
// pipelines (as read at the default branch) that is due at now. The
// database decides which caller fires a due schedule, so several replicas
// may call this at once. A schedule first seen is due at its next time,
// never for the past; one missed while no server ran fires once.
func (s *Service) FireSchedules(ctx context.Context, now time.Time) (started int, err error) {
	var errs []error
	for before := int64(0); ; {
		page, err := s.Store.Projects(ctx, before, 100)
		if err != nil {
			return started, err
		}
		for _, p := range page.Items {
			n, err := s.fireProject(ctx, p, now)
			started += n
			if err != nil {
				errs = append(errs, fmt.Errorf("project %s: %w", p.Name, err))
			}
		}
		if page.Next == nil {
			return started, errors.Join(errs...)
		}
		before = *page.Next
	}
}

func (s *Service) fireProject(ctx context.Context, p *lathe.Project, now time.Time) (int, error) {
	head, ps, err := s.Pipelines(ctx, p, "")
	if err != nil {
		return 0, err
	}
	started := 0
	var errs []error
	for _, pl := range ps {
		if pl.Triggers == nil {
			continue
		}
		for _, sc := range pl.Triggers.Schedules {
			branch := sc.Branch
			if branch == "" {
				branch = head.Branch
			}
			due, err := s.Store.ClaimFiring(ctx, store.Schedule{ProjectID: p.ID, Pipeline: pl.Name, Cron: sc.Cron, Branch: branch},
				now, sc.Next(now))
			if err != nil || !due {
				errs = append(errs, err)
				continue
			}
			if _, err := s.fireOne(ctx, p, pl, branch, head); err != nil {
				errs = append(errs, fmt.Errorf("schedule %q of %s: %w", sc.Cron, pl.Name, err))
				continue
			}
			started++
		}
	}
	return started, errors.Join(errs...)
}

// fireOne starts a scheduled run of pl on branch; the pipeline is read at
// the branch's head when that is not the default branch.
func (s *Service) fireOne(ctx context.Context, p *lathe.Project, pl *pipeline.Pipeline, branch string, head git.Ref) (*lathe.Run, error) {
	if branch == head.Branch {
		return s.start(ctx, p, pl, head, launch{event: pipeline.EventSchedule})
	}
	return s.Trigger(ctx, p, Request{Ref: branch, Pipeline: pl.Name, Event: pipeline.EventSchedule})
}
