package cli

import (
	"context"
	"log/slog"

	"github.com/lathe-ci/lathe/executor"
)

// connectContainers gives the agent named name a container executor on the
// engine --container-host names, or nil (saying why) when none is chosen
// or it does not answer: the agent then runs no jobs with an image.
func connectContainers(ctx context.Context, opts executor.Options, name, dir string, log *slog.Logger) *executor.Containers {
	if opts.ContainerHost == "" {
		return nil
	}
	e, err := executor.ConnectEngine(ctx, opts.ContainerHost)
	if err != nil {
		log.Info("no container engine: this agent runs no jobs with an image", "agent", name, "err", err)
		return nil
	}
	c, err := executor.NewContainers(e, opts, name, dir)
	if err != nil {
		e.Close()
		log.Warn("container executor", "agent", name, "err", err)
		return nil
	}
	log.Info("container engine", "agent", name, "engine", e.Name, "host", e.Host)
	return c
}
