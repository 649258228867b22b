package trigger

import (
	"context"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/pipeline"
)

// movesBranch says whether a run started so resolved its branch at the
// remote just now, so that its commit is the branch's head. A pull
// request's run records the branch it targets, and a run following or
// re-running another builds that one's (maybe older) commit.
func (l launch) movesBranch() bool {
	if l.recordAs != "" || l.parent != nil || l.pullRequest != 0 {
		return false
	}
	switch l.event {
	case pipeline.EventPush, pipeline.EventManual, pipeline.EventWebhook, pipeline.EventSchedule:
		return true
	}
	return false
}

// addBranchEnv adds the env of the run's branch (its settings) to every
// job, after the pipeline's and the job's own: a name set in both takes
// the branch's value, in the place the job had it. Pull requests' runs,
// which record the branch they target, get none.
func (s *Service) addBranchEnv(ctx context.Context, p *lathe.Project, ref git.Ref, l launch, jobs []*lathe.Job) error {
	if ref.Branch == "" || l.pullRequest != 0 || l.event == pipeline.EventPullRequest {
		return nil
	}
	env, err := s.Store.BranchEnv(ctx, p.ID, ref.Branch)
	if err != nil || len(env) == 0 {
		return err
	}
	for _, j := range jobs {
		j.Env = pipeline.MergeEnv(j.Env, env)
	}
	return nil
}
