package trigger

import (
	"context"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
)

// HasCommit reports whether commit (a full commit ID) is in the project's
// repository, fetching it into the mirror when the mirror lacks it.
func (s *Service) HasCommit(ctx context.Context, p *lathe.Project, commit string) (bool, error) {
	if !git.IsCommitID(commit) {
		return false, nil
	}
	m, hold, done, err := s.mirror(ctx, p)
	if err != nil {
		return false, err
	}
	defer done()
	if _, err := m.ResolveHeld(ctx, commit, hold); err != nil {
		return false, nil
	}
	return true, nil
}
