package trigger

import (
	"context"
	"errors"
	"fmt"
	"slices"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/pipeline"
)

// Stored pipelines (Escape's builds, Kraken's stored flows) are pipeline
// YAML a project's owner keeps on the server. Each is read alone, as the
// file .lathe/NAME.yml, beside the repository's files at every commit of
// the project: it runs on the events its on: names, like any pipeline,
// with the project's secrets (only owners, who set those secrets, store
// one). A repository file defining the same pipeline name wins, so a team
// can move a stored pipeline into its repository by committing it.

// StoredFile is what a stored pipeline's view names as its file.
func StoredFile(name string) string { return "stored:" + name }

// errNoFiles says a commit has no pipeline files; with stored pipelines,
// a commit needs none.
type errNoFiles struct{ commit string }

func (e errNoFiles) Error() string {
	return fmt.Sprintf("commit %.12s has no .lathe.yml or .lathe/*.yml, and the project stores no pipelines: %v", e.commit, lathe.ErrInvalid)
}

func (e errNoFiles) Unwrap() error { return lathe.ErrInvalid }

// ParseStored parses a stored pipeline's YAML as the pipeline called name,
// as ParsePosted does, and marks its file as stored.
func ParseStored(name, yaml string) (*pipeline.Pipeline, error) {
	pl, err := ParsePosted(name, yaml)
	if err != nil {
		return nil, err
	}
	cp := *pl
	cp.File = StoredFile(name)
	return &cp, nil
}

// withStored adds p's stored pipelines to ps, the pipelines its
// repository defines at r (err: why it defines none), leaving out those a
// repository file names too.
func (s *Service) withStored(ctx context.Context, p *lathe.Project, r git.Ref, ps []*pipeline.Pipeline, err error) (git.Ref, []*pipeline.Pipeline, error) {
	var none errNoFiles
	var broken *ConfigError
	switch {
	case err == nil:
	case errors.As(err, &none):
		err = nil // stored pipelines need no files; none at all is told below
	case errors.As(err, &broken):
		// ps are the pipelines of the sound files; err stays.
	default:
		return git.Ref{}, nil, err
	}
	stored, serr := s.Store.StoredPipelines(ctx, p.ID)
	if serr != nil {
		return git.Ref{}, nil, serr
	}
	if len(stored) == 0 {
		if none.commit != "" {
			return git.Ref{}, nil, none
		}
		return r, ps, err
	}
	out := slices.Clone(ps) // ps may be the cache's: never append to it
	for _, sp := range stored {
		if slices.ContainsFunc(ps, func(pl *pipeline.Pipeline) bool { return pl.Name == sp.Name }) {
			continue
		}
		pl, err := ParseStored(sp.Name, sp.YAML)
		if err != nil {
			return git.Ref{}, nil, fmt.Errorf("stored pipeline %s: %w", sp.Name, err)
		}
		out = append(out, pl)
	}
	return r, out, err
}
