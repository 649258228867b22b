package trigger

import (
	"context"
	"errors"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/pipeline"
)

// Event starts, at ref, every pipeline of the commit whose `on:` takes the
// event (push, tag or webhook), as a forge's push or a token webhook does.
// A push of a tag ref is a tag event. Pipelines whose jobs are all left out
// by their conditions start nothing; that is not an error. The pipeline
// files being broken is (a ConfigError), and the branch's config errors
// record it.
func (s *Service) Event(ctx context.Context, p *lathe.Project, ref, kind string, params map[string]string) ([]*lathe.Run, error) {
	r, ps, err := s.Pipelines(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	if kind == pipeline.EventPush && r.Tag() != "" {
		kind = pipeline.EventTag
	}
	var runs []*lathe.Run
	var errs []error
	for _, pl := range ps {
		ev := pipeline.Event{Kind: kind, Branch: r.Branch, Tag: r.Tag(), Ref: r.Ref, Commit: r.Commit}
		if !pl.Triggers.Matches(ev) {
			continue
		}
		run, err := s.start(ctx, p, pl, r, launch{event: kind, params: params})
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
	files, err := s.Mirrors.For(p.URL).ChangedFiles(ctx, base, ref.Commit)
	if err != nil {
		return nil
	}
	return files
}
