package trigger

import (
	"context"
	"errors"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/store"
)

// Schedules. The cron triggers of a project are those of its default
// branch's pipeline files, each firing on its `branch:` (the default branch
// when it names none). The server keeps them in the schedules table and
// reads the files again only when the default branch's head moves: runs
// and forge hooks report heads as they see them (store.BranchMoved), and
// PollHeads asks each remote now and then in case neither did. Firing works
// from the table: a schedule's run builds its branch's head as last seen.

// dueBatch bounds the schedules one FireSchedules call fires.
const dueBatch = 100

// PollHeads asks each project's remote for its branch heads (one ls-remote
// per project) and records those of the default branch and of the tracked
// branches that moved. It is the slow fallback for remotes whose hooks do
// not reach the server.
func (s *Service) PollHeads(ctx context.Context) error {
	var errs []error
	for before := int64(0); ; {
		page, err := s.Store.Projects(ctx, before, 100)
		if err != nil {
			return err
		}
		if err := s.poll(ctx, page.Items); err != nil {
			errs = append(errs, err)
		}
		if page.Next == nil {
			return errors.Join(errs...)
		}
		before = *page.Next
	}
}

// PollNewHeads is PollHeads for the projects whose default branch is not
// tracked yet (new projects, or one whose default branch changed), so their
// schedules are read without waiting for the slow poll.
func (s *Service) PollNewHeads(ctx context.Context) error {
	ps, err := s.Store.ProjectsWithoutDefaultBranch(ctx)
	if err != nil {
		return err
	}
	return s.poll(ctx, ps)
}

func (s *Service) poll(ctx context.Context, ps []*lathe.Project) error {
	var errs []error
	for _, p := range ps {
		if err := s.pollProject(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("project %s: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) pollProject(ctx context.Context, p *lathe.Project) error {
	m, hold, done, err := s.mirror(ctx, p)
	if err != nil {
		return err
	}
	defer done()
	heads, err := m.Heads(ctx, hold)
	if err != nil {
		return err
	}
	known, err := s.Store.TrackedHeads(ctx, p.ID)
	if err != nil {
		return err
	}
	if _, ok := known[p.DefaultBranch]; !ok {
		known[p.DefaultBranch] = "" // always tracked
	}
	for name, was := range known {
		if now, ok := heads[name]; ok && now != was {
			if err := s.Store.BranchMoved(ctx, p.ID, name, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadSchedules reads the pipelines of every default branch whose head
// moved since its schedules were read, and records the schedules they
// declare (see store.SyncSchedules): new ones first fire at their next time
// after now. Broken files keep the schedules read before, and the branch's
// config errors say why.
func (s *Service) ReadSchedules(ctx context.Context, now time.Time) error {
	todo, err := s.Store.BranchesToRead(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range todo {
		if err := s.readSchedules(ctx, b, now); err != nil {
			errs = append(errs, fmt.Errorf("schedules of branch %s of project %d: %w", b.Branch, b.ProjectID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) readSchedules(ctx context.Context, b store.BranchToRead, now time.Time) error {
	p, err := s.Store.Project(ctx, fmt.Sprint(b.ProjectID))
	if err != nil {
		return err
	}
	_, ps, err := s.Pipelines(ctx, p, b.Commit)
	var broken *ConfigError
	if errors.As(err, &broken) {
		if err := s.Store.SetConfigErrors(ctx, p.ID, b.Branch, b.Commit, problems(broken.Errs)); err != nil {
			return err
		}
		return s.Store.SyncSchedules(ctx, p.ID, b.Branch, b.Commit, nil, true)
	}
	if err != nil {
		return err
	}
	if err := s.Store.SetConfigErrors(ctx, p.ID, b.Branch, b.Commit, nil); err != nil {
		return err
	}
	found := []store.FoundSchedule{}
	for _, pl := range ps {
		if pl.Triggers == nil {
			continue
		}
		for _, sc := range pl.Triggers.Schedules {
			branch := sc.Branch
			if branch == "" {
				branch = b.Branch
			}
			found = append(found, store.FoundSchedule{Pipeline: pl.Name, Cron: sc.Cron, Branch: branch, Next: sc.Next(now)})
		}
	}
	return s.Store.SyncSchedules(ctx, p.ID, b.Branch, b.Commit, found, false)
}

// FireSchedules starts a run for each schedule that is due at now and not
// paused, and moves it on to its next time. The database decides which
// caller fires a due schedule, so several replicas may call this at once;
// one missed while no server ran fires once.
func (s *Service) FireSchedules(ctx context.Context, now time.Time) (started int, err error) {
	due, err := s.Store.DueSchedules(ctx, now, dueBatch)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, sc := range due {
		cron, err := pipeline.ParseCron(sc.Cron)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		claimed, err := s.Store.ClaimSchedule(ctx, sc.ID, sc.NextAt, cron.Next(now))
		if err != nil || !claimed {
			errs = append(errs, err)
			continue
		}
		if _, err := s.fireOne(ctx, sc); err != nil {
			errs = append(errs, fmt.Errorf("schedule %q of %s on %s: %w", sc.Cron, sc.Pipeline, sc.Branch, err))
			continue
		}
		started++
	}
	return started, errors.Join(errs...)
}

// fireOne starts a scheduled run of the schedule's pipeline at its branch's
// head as last seen, read from that commit; a branch not tracked yet is
// resolved on the remote.
func (s *Service) fireOne(ctx context.Context, sc *lathe.Schedule) (*lathe.Run, error) {
	p, err := s.Store.Project(ctx, fmt.Sprint(sc.ProjectID))
	if err != nil {
		return nil, err
	}
	head, err := s.Store.BranchHead(ctx, p.ID, sc.Branch)
	if err != nil {
		return nil, err
	}
	if head == "" {
		return s.Trigger(ctx, p, Request{Ref: sc.Branch, Pipeline: sc.Pipeline, Event: pipeline.EventSchedule})
	}
	_, ps, err := s.Pipelines(ctx, p, head)
	if err != nil && !runsDespite(err, ps, sc.Pipeline) {
		return nil, err
	}
	pl, err := pipeline.Choose(ps, sc.Pipeline)
	if err != nil {
		return nil, err
	}
	ref := git.Ref{Commit: head, Branch: sc.Branch, Ref: "refs/heads/" + sc.Branch}
	return s.start(ctx, p, pl, ref, launch{event: pipeline.EventSchedule})
}
