package server

import (
	"context"
	"path/filepath"

	"github.com/lathe-ci/lathe/executor"
)

// connectEngine reaches the container engine the embedded agents run jobs
// with an image on; nil (said in the log) when none is configured or it
// does not answer: those jobs then wait for another agent.
func (s *Server) connectEngine(ctx context.Context) *executor.Engine {
	host := s.cfg.Executor.ContainerHost
	if host == "" {
		return nil
	}
	e, err := executor.ConnectEngine(ctx, host)
	if err != nil {
		s.cfg.Log.Info("no container engine: the embedded agents run no jobs with an image", "err", err)
		return nil
	}
	s.cfg.Log.Info("container engine", "engine", e.Name, "host", e.Host)
	return e
}

// containersFor is the container executor of the embedded agent name
// working in workDir; nil without an engine.
func (s *Server) containersFor(name, workDir string) (*executor.Containers, error) {
	if s.engine == nil {
		return nil, nil
	}
	dir, err := filepath.Abs(workDir)
	if err != nil {
		return nil, err
	}
	opts := s.cfg.Executor
	opts.Grace = s.cfg.Grace
	return executor.NewContainers(s.engine, opts, name, dir)
}
