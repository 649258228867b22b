package trigger

import (
	"context"
	"fmt"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/pipeline"
)

// Pipelines from the API (Kraken's stored flows, and "run this file before
// I commit it"): pipeline YAML posted by a user, planned, or run at a
// commit of the project when its owner allows it. A posted pipeline is
// read alone, as the file .lathe/NAME.yml, and its runs are marked
// (lathe.Run.PipelineFromAPI): they get no secrets, start no pipelines
// that follow theirs, and cannot be re-run whole from the commit.

// PostedFile is the file a posted pipeline named name is read as.
func PostedFile(name string) string { return ".lathe/" + name + ".yml" }

// ParsePosted parses pipeline YAML posted for the pipeline called name.
// Broken YAML is a *ConfigError (with no commit) listing each problem with
// its line; a file naming another pipeline is refused.
func ParsePosted(name, yaml string) (*pipeline.Pipeline, error) {
	file := PostedFile(name)
	if !pipeline.IsFile(file) || strings.ContainsAny(name, "/\\") {
		return nil, fmt.Errorf("pipeline %q: not a pipeline name (letters, digits, '.', '_' or '-'): %w", name, lathe.ErrInvalid)
	}
	if len(yaml) > pipeline.MaxFileSize {
		return nil, &ConfigError{Errs: pipeline.ErrorList{pipeline.TooLarge(file, int64(len(yaml)))}}
	}
	ps, err := pipeline.Parse([]pipeline.File{{Path: file, Data: []byte(yaml)}})
	if el, ok := err.(pipeline.ErrorList); ok {
		return nil, &ConfigError{Errs: el}
	}
	if err != nil {
		return nil, err
	}
	pl, err := pipeline.Choose(ps, "")
	if err != nil {
		return nil, err
	}
	if pl.Name != name {
		return nil, fmt.Errorf("pipeline_yaml: its name: is %q, but the request is for pipeline %q; make them agree: %w",
			pl.Name, name, lathe.ErrInvalid)
	}
	return pl, nil
}

// TriggerPosted starts a run of the posted pipeline YAML at the request's
// ref (resolved at the remote; the commit's own pipeline files are not
// read, and need not exist). Its conditions see a manual event and the
// request's parameters; its `on:` is not consulted, since the request is
// the run's trigger. A job naming a secret refuses the run: such a run
// gets no secrets. Whether the project allows such runs is the caller's
// to check.
func (s *Service) TriggerPosted(ctx context.Context, p *lathe.Project, req Request, yaml string) (*lathe.Run, error) {
	pl, err := ParsePosted(req.Pipeline, yaml)
	if err != nil {
		return nil, err
	}
	ref, err := s.resolve(ctx, p, req.Ref)
	if err != nil {
		return nil, err
	}
	return s.start(ctx, p, pl, ref, launch{event: pipeline.EventManual, params: req.Params, fromAPI: true})
}

// resolve resolves ref (empty: the default branch) at the project's
// remote, fetching its commit into the mirror.
func (s *Service) resolve(ctx context.Context, p *lathe.Project, ref string) (git.Ref, error) {
	if ref == "" {
		ref = p.DefaultBranch
	}
	m, hold, done, err := s.mirror(ctx, p)
	if err != nil {
		return git.Ref{}, err
	}
	defer done()
	r, err := m.ResolveHeld(ctx, ref, hold)
	if err != nil {
		return git.Ref{}, fmt.Errorf("%w: %v", lathe.ErrInvalid, err)
	}
	return r, nil
}

// refuseSecrets refuses the jobs of a run from posted YAML that name
// secrets, naming the first.
func refuseSecrets(pl string, jobs []*lathe.Job) error {
	for _, j := range jobs {
		if len(j.Secrets) > 0 {
			return fmt.Errorf("job %s of the posted pipeline %s names the secret %s, and a run of a pipeline posted through the API "+
				"gets no secrets; remove secrets: from it, or commit the pipeline: %w", j.Name, pl, j.Secrets[0].Name, lathe.ErrInvalid)
		}
	}
	return nil
}
