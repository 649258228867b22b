package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/trigger"
)

// HookOutcome is what a forge's hook did: the runs it started, the runs
// it canceled (a closed pull request's), or why it did nothing.
type HookOutcome struct {
	Runs     []*lathe.Run `json:"items"`
	Canceled []int64      `json:"canceled"`
	// Ignored says why the hook started nothing ("" when it acted).
	Ignored string `json:"ignored,omitempty"`
}

// ForgeHook acts on a forge's hook whose signature the caller verified
// with the project's hook secret. A delivery already taken within a day
// starts nothing, nor do deletions, [skip ci] commits, events Lathe does
// not act on, and hooks about another repository than the project's. A push or tag starts the project's push runs at the
// hook's commit; an opened, updated or reopened pull request its
// pull_request runs at the request's head; a closed one cancels the
// request's unfinished runs. The trust of the code is decided by
// engine.DecideHookTrust, asking the forge or Lathe's roles about the
// author when it says so; untrusted runs get no secrets and wait for
// approval.
func (s *Service) ForgeHook(ctx context.Context, sender forge.Sender, p *lathe.Project, ev *forge.Event) (*HookOutcome, error) {
	out := &HookOutcome{Runs: []*lathe.Run{}, Canceled: []int64{}}
	if ev.Delivery != "" {
		fresh, err := s.store.TakeDelivery(ctx, p.ID, ev.Delivery)
		if err != nil {
			return nil, err
		}
		if !fresh {
			out.Ignored = fmt.Sprintf("delivery %s was already taken", ev.Delivery)
			return out, nil
		}
	}
	err := s.forgeHook(ctx, sender, p, ev, out)
	if err != nil && ev.Delivery != "" {
		// The forge may deliver it again under the same ID.
		if ferr := s.store.ForgetDelivery(ctx, p.ID, ev.Delivery); ferr != nil {
			s.log.Error("forget a failed hook delivery", "project", p.Name, "delivery", ev.Delivery, "err", ferr)
		}
	}
	return out, err
}

func (s *Service) forgeHook(ctx context.Context, sender forge.Sender, p *lathe.Project, ev *forge.Event, out *HookOutcome) error {
	switch {
	case ev.Kind == forge.Other:
		out.Ignored = fmt.Sprintf("%s events start nothing", ev.Name)
		return nil
	case ev.Deleted:
		return s.branchDeleted(ctx, p, ev, out)
	case p.Repo != "" && ev.Repo != "" && !strings.EqualFold(ev.Repo, p.Repo):
		// An organization's or group's hook reaches one URL for all its
		// repositories; the project builds its own alone.
		out.Ignored = fmt.Sprintf("the hook is about repository %s; project %s is %s on its forge (if the repository moved, set the project's repo)",
			ev.Repo, p.Name, p.Repo)
		return nil
	}
	switch {
	case ev.Kind == forge.PullRequest && ev.Action == forge.Closed:
		return s.closePullRequest(ctx, sender, p, ev, out)
	case ev.Kind == forge.PullRequest && ev.Action == forge.ActionOther:
		out.Ignored = "this pull request change starts nothing"
		return nil
	case ev.SkipCI():
		out.Ignored = "the head commit says [skip ci]"
		return s.branchMoved(ctx, p, ev)
	}
	req := trigger.EventRequest{Ref: ev.Ref, Commit: ev.SHA, Kind: pipeline.EventPush}
	if ev.Kind == forge.PullRequest {
		req.Kind, req.Base, req.PullRequest = pipeline.EventPullRequest, ev.Base, ev.PullRequest
	}
	trusted, err := s.hookTrusted(ctx, p, ev)
	if err != nil {
		return err
	}
	req.Untrusted = !trusted
	if err := s.RoomToRun(); err != nil {
		return err
	}
	runs, err := s.trigger.Event(ctx, p, req)
	if err != nil && len(runs) == 0 {
		return err
	}
	if err := s.branchMoved(ctx, p, ev); err != nil {
		return err
	}
	if err != nil {
		s.log.Warn("a forge hook started some of its runs", "project", p.Name, "ref", ev.Ref, "err", err)
	}
	if runs != nil {
		out.Runs = runs
	}
	if len(out.Runs) == 0 {
		// The forge shows this answer with the delivery: say why.
		what := fmt.Sprintf("%s of %s", ev.Kind, ev.Ref)
		if ev.Kind == forge.PullRequest {
			what += " into " + ev.Base
		}
		out.Ignored = NoRunStarted(what)
	}
	return nil
}

// NoRunStarted is why a hook's event (what: "push of refs/heads/x")
// started no run, for the answer its sender sees.
func NoRunStarted(what string) string {
	return fmt.Sprintf("no pipeline runs on this %s: none has it in its on:, or every job's when: is false", what)
}

// branchMoved records the head of the branch a push moved, whether or not
// a run started (the schedule loop reads its pipelines again when it
// does). It is called once the hook is taken: a hook refused (a commit
// the repository does not have) moves no branch.
func (s *Service) branchMoved(ctx context.Context, p *lathe.Project, ev *forge.Event) error {
	branch, ok := strings.CutPrefix(ev.Ref, "refs/heads/")
	if ev.Kind != forge.Push || !ok {
		return nil
	}
	return s.store.BranchMoved(ctx, p.ID, branch, ev.SHA)
}

// branchDeleted forgets a branch the push deleted, so the project's
// branches list what the repository has; the branch's runs stay. The
// project's default branch stays listed: its schedules and badge hang on it.
func (s *Service) branchDeleted(ctx context.Context, p *lathe.Project, ev *forge.Event, out *HookOutcome) error {
	out.Ignored = fmt.Sprintf("%s was deleted", ev.Ref)
	branch, ok := strings.CutPrefix(ev.Ref, "refs/heads/")
	if ev.Kind != forge.Push || !ok || branch == p.DefaultBranch {
		return nil
	}
	err := s.store.DeleteBranch(ctx, p.ID, branch)
	switch {
	case errors.Is(err, lathe.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	out.Ignored += fmt.Sprintf("; branch %s is no longer listed (its runs stay)", branch)
	return nil
}

// hookTrusted decides whether the hook's code is trusted (see engine.DecideHookTrust).
func (s *Service) hookTrusted(ctx context.Context, p *lathe.Project, ev *forge.Event) (bool, error) {
	decision := engine.DecideHookTrust(engine.HookTrust{PullRequest: ev.Kind == forge.PullRequest, Fork: ev.Fork,
		Branch: ev.Branch(), Protected: p.ProtectedBranches, PRTrust: p.PRTrust})
	switch decision {
	case engine.Trusted:
		return true, nil
	case engine.AuthorWriteOnForge:
		repo, err := s.trigger.ForgeRepo(ctx, p.ID)
		if err != nil || repo == nil {
			s.log.Warn("cannot ask the forge whether a hook's author may write; the hook's runs are untrusted",
				"project", p.Name, "author", ev.Author, "err", err)
			return false, nil
		}
		ok, err := forge.HasWrite(ctx, s.ForgeClient, repo, ev.Author)
		if err != nil {
			s.log.Warn("the forge did not say whether a hook's author may write; the hook's runs are untrusted",
				"project", p.Name, "author", ev.Author, "err", err)
		}
		return ok, nil
	case engine.AuthorWriteInLathe:
		return s.writesInLathe(ctx, p, ev.Author)
	}
	return false, nil
}

// writesInLathe says whether the Lathe user named like the forge user may
// write to the project.
func (s *Service) writesInLathe(ctx context.Context, p *lathe.Project, name string) (bool, error) {
	if name == "" {
		return false, nil
	}
	u, err := s.store.User(ctx, name)
	if errors.Is(err, lathe.ErrNotFound) {
		return false, nil
	}
	if err != nil || u.Disabled {
		return false, err
	}
	if u.Admin {
		return true, nil
	}
	role, err := s.store.ProjectRole(ctx, u.ID, p.ID)
	return role.Rank() >= lathe.RoleWrite.Rank(), err
}

// closePullRequest cancels a closed pull request's unfinished runs.
func (s *Service) closePullRequest(ctx context.Context, sender forge.Sender, p *lathe.Project, ev *forge.Event, out *HookOutcome) error {
	ids, err := s.store.PullRequestRuns(ctx, p.ID, ev.PullRequest)
	if err != nil {
		return err
	}
	// The hook's verified secret gives it write on its project.
	hook := Actor{User: "hook:" + string(sender), Project: p, Role: lathe.RoleWrite}
	for _, id := range ids {
		err := s.CancelRun(ctx, hook, id)
		if errors.Is(err, lathe.ErrConflict) {
			continue // it finished meanwhile
		}
		if err != nil {
			return err
		}
		out.Canceled = append(out.Canceled, id)
	}
	if len(ids) == 0 {
		out.Ignored = fmt.Sprintf("pull request %d has no unfinished runs", ev.PullRequest)
	}
	return nil
}
