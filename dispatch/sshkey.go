package dispatch

import (
	"context"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/trigger"
)

// withSSHKey gives the assignment of a job whose repository URL is an SSH
// URL the private key that reads it (the project's, else the server's) and
// the host keys the server pinned for the project, as it gives repository
// credentials: for the agent that claimed the job, which uses them for the
// checkout alone. A job of an untrusted run gets no key, as it gets no
// secrets: its checkout of an SSH URL fails, saying why.
func (s *Service) withSSHKey(ctx context.Context, as *lathe.Assignment) (*lathe.Assignment, error) {
	if as.Untrusted || !git.IsSSH(as.RepoURL) {
		return as, nil
	}
	key, err := trigger.CheckoutKey(ctx, s.store, s.keys, as.ProjectID)
	if err != nil {
		return nil, err
	}
	known, err := s.store.ProjectKnownHosts(ctx, as.ProjectID)
	if err != nil {
		return nil, err
	}
	as.SSHKey, as.SSHKnownHosts = string(key), known
	return as, nil
}
