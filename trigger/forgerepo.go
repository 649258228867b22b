package trigger

import (
	"context"
	"fmt"
	"strings"

	"github.com/lathe-ci/lathe/forge"
)

// ForgeRepo returns the repository of a project on its forge, with the
// connection's token opened, for the calls Lathe makes to the forge
// (commit statuses, permission checks); nil when the project names no
// forge or no repository.
func (s *Service) ForgeRepo(ctx context.Context, projectID int64) (*forge.Repo, error) {
	p, err := s.Store.Project(ctx, fmt.Sprint(projectID))
	if err != nil {
		return nil, err
	}
	if p.ForgeID == 0 || p.Repo == "" {
		return nil, nil
	}
	f, err := s.Store.Forge(ctx, fmt.Sprint(p.ForgeID))
	if err != nil {
		return nil, err
	}
	if s.Keys == nil {
		return nil, fmt.Errorf("forge %s: its token is sealed, and this server has no secret key", f.Name)
	}
	token, err := s.Store.ForgeToken(ctx, s.Keys, f.ID)
	if err != nil {
		return nil, err
	}
	i := strings.LastIndex(p.Repo, "/")
	if i < 0 {
		return nil, fmt.Errorf("project %s: repo %q is not owner/name", p.Name, p.Repo)
	}
	return &forge.Repo{Kind: forge.Kind(f.Kind), APIURL: f.APIURL, Token: token, Owner: p.Repo[:i], Name: p.Repo[i+1:]}, nil
}
