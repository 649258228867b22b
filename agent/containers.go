package agent

import (
	"context"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
)

// executorFor is the executor that runs as's steps, and where their
// environment starts: the container executor for a job that names an
// image (nil when the agent has none), the agent's own for the others.
func (a *Agent) executorFor(as *lathe.Assignment, home string) (executor.Executor, []string) {
	if as.Container == nil {
		return a.Executor, executor.BaseEnv(home, a.PassEnv)
	}
	if a.Containers == nil {
		return nil, nil
	}
	return a.Containers, executor.ContainerBaseEnv(home, a.PassEnv)
}

// removeLeftoverContainers removes, at start, the containers and networks
// that attempts of an earlier life of the agent left on its engine: it
// died before it could remove them. None belongs to a live attempt (see
// removeLeftovers).
func (a *Agent) removeLeftoverContainers(ctx context.Context) {
	if a.Containers == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	n, err := a.Containers.RemoveLeftovers(ctx)
	if err != nil {
		a.Log.Warn("removing the containers an earlier run of this agent left", "agent", a.Name, "err", err)
	}
	if n > 0 {
		a.Log.Warn("removed the containers an earlier run of this agent left", "agent", a.Name, "containers", n)
	}
}
