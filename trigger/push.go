package trigger

import (
	"context"
	"errors"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/pipeline"
)

// EventRequest is an event from outside that may start runs.
type EventRequest struct {
	Ref  string // what to build: branch, tag, full ref or commit
	Kind string // push, pull_request or webhook
	// Base is the branch a pull request targets; its `on: pull_request:
	// branches` and `when: branches` see it.
	Base   string
	Params map[string]string
	// Untrusted marks code nobody trusted yet (a fork's pull request): its
	// runs get no secrets and wait until a user with write approves the commit.
	Untrusted bool
	// PullRequest is the pull request's number on the forge, for a
	// pull_request event; 0 otherwise.
	PullRequest int64
	// Commit is the commit a forge's hook named at Ref (then a full ref):
	// it is built as it is, without asking the remote where Ref points.
	Commit string
}

// Event starts, at the request's ref, every pipeline of the commit whose
// `on:` takes the event, as a forge's push or pull request or a token
// webhook does. A push of a tag ref is a tag event. Pipelines whose jobs are
// all left out by their conditions start nothing; that is not an error. A
// broken pipeline file gets a failed run carrying its problems (see
// brokenRuns), which the branch's config errors record too; the other
// files' pipelines start as usual when they parse without it.
func (s *Service) Event(ctx context.Context, p *lathe.Project, req EventRequest) ([]*lathe.Run, error) {
	var (
		r   git.Ref
		ps  []*pipeline.Pipeline
		err error
	)
	if req.Commit != "" {
		r, ps, err = s.PipelinesAt(ctx, p, req.Ref, req.Commit)
	} else {
		r, ps, err = s.Pipelines(ctx, p, req.Ref)
	}
	var runs []*lathe.Run
	var broken *ConfigError
	if errors.As(err, &broken) {
		// The broken files get a failed run each; the sound files'
		// pipelines start as usual.
		if runs, err = s.brokenRuns(ctx, p, req, broken); err != nil || len(ps) == 0 {
			return runs, err
		}
	}
	if err != nil {
		return nil, err
	}
	kind := req.Kind
	if kind == pipeline.EventPush && r.Tag() != "" {
		kind = pipeline.EventTag
	}
	if kind == pipeline.EventPullRequest && req.Base != "" {
		r.Branch = req.Base
	}
	var errs []error
	for _, pl := range ps {
		ev := pipeline.Event{Kind: kind, Branch: r.Branch, Tag: r.Tag(), Ref: r.Ref, Commit: r.Commit}
		if !pl.Triggers.Matches(ev) {
			continue
		}
		run, err := s.start(ctx, p, pl, r, launch{event: kind, params: req.Params, untrusted: req.Untrusted,
			pullRequest: req.PullRequest})
		if errors.Is(err, errNoJobs) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("pipeline %s: %w", pl.Name, err))
			continue
		}
		runs = append(runs, run)
	}
	return runs, errors.Join(errs...)
}

// changed lists the files a push changed since the newest successful run of
// the pipeline on the branch, for `when: paths`; nil (unknown: every path
// condition holds) when there is no such run or git cannot tell.
func (s *Service) changed(ctx context.Context, p *lathe.Project, pl string, ref git.Ref) []string {
	if ref.Branch == "" {
		return nil
	}
	base, err := s.Store.LastSuccess(ctx, p.ID, pl, ref.Branch)
	if err != nil || base == "" || base == ref.Commit {
		return nil
	}
	m, _, done, err := s.mirror(ctx, p)
	if err != nil {
		return nil
	}
	defer done()
	files, err := m.ChangedFiles(ctx, base, ref.Commit)
	if err != nil {
		return nil
	}
	return files
}

// changedSinceMergeBase lists the files a pull request changes: from the
// merge base of its commit and the head of the branch it targets
// (ref.Branch) to its commit. nil (unknown) when git cannot tell.
func (s *Service) changedSinceMergeBase(ctx context.Context, p *lathe.Project, ref git.Ref) []string {
	if ref.Branch == "" {
		return nil
	}
	m, hold, done, err := s.mirror(ctx, p)
	if err != nil {
		return nil
	}
	defer done()
	target, err := m.ResolveHeld(ctx, ref.Branch, hold)
	if err != nil {
		return nil
	}
	base, err := m.MergeBase(ctx, target.Commit, ref.Commit)
	if err != nil {
		return nil
	}
	files, err := m.ChangedFiles(ctx, base, ref.Commit)
	if err != nil {
		return nil
	}
	return files
}

// brokenRuns stores, for an event at a commit whose pipeline files are
// broken, one failed run per broken file carrying its problems, so the
// event is answered where users look rather than dropped. (Which pipelines
// the event would have started cannot be known from broken files.)
func (s *Service) brokenRuns(ctx context.Context, p *lathe.Project, req EventRequest, broken *ConfigError) ([]*lathe.Run, error) {
	byFile := map[string][]lathe.ConfigProblem{}
	var files []string
	for _, pr := range problems(broken.Errs) {
		if _, seen := byFile[pr.File]; !seen {
			files = append(files, pr.File)
		}
		byFile[pr.File] = append(byFile[pr.File], pr)
	}
	var runs []*lathe.Run
	for _, f := range files {
		r := &lathe.Run{ProjectID: p.ID, Project: p.Name, Pipeline: pipeline.NameFromFile(f), Ref: broken.Ref.Ref,
			Branch: broken.Ref.Branch, Commit: broken.Commit, Event: req.Kind, Untrusted: req.Untrusted, Errors: byFile[f],
			PullRequest: req.PullRequest}
		if req.Kind == pipeline.EventPullRequest && req.Base != "" {
			r.Branch = req.Base
		}
		if err := s.Store.CreateBrokenRun(ctx, r); err != nil {
			return runs, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}
