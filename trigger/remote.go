package trigger

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/secret"
)

// A project's URL is read only as its policy allows (git.Policy), checked
// again before every contact with the remote since a host's addresses
// change; its credentials are sealed like a secret and put back into the
// URL only for git.

// credentialsAAD binds sealed URL credentials to their use.
var credentialsAAD = []byte("lathe project url credentials")

// SealCredentials seals a project URL's credentials for storage.
func SealCredentials(k *secret.Keyring, credentials string) (string, error) {
	if k == nil {
		return "", fmt.Errorf("url: credentials in a URL are kept as a secret, and this server has no secret key: %w", lathe.ErrInvalid)
	}
	id, ct := k.Seal([]byte(credentials), credentialsAAD)
	return id + ":" + base64.StdEncoding.EncodeToString(ct), nil
}

// OpenCredentials opens what SealCredentials sealed.
func OpenCredentials(k *secret.Keyring, sealed string) (string, error) {
	id, b64, ok := strings.Cut(sealed, ":")
	ct, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil {
		return "", fmt.Errorf("the project URL's sealed credentials are damaged")
	}
	if k == nil {
		return "", fmt.Errorf("the project URL's credentials are sealed, and this server has no secret key")
	}
	pt, err := k.Open(id, ct, credentialsAAD)
	if err != nil {
		return "", fmt.Errorf("open the project URL's credentials: %w", err)
	}
	return string(pt), nil
}

// CloneURL is the URL git uses for a project's shown URL and its sealed
// credentials: the URL with its credentials back in.
func CloneURL(k *secret.Keyring, shown, sealed string) (string, error) {
	if sealed == "" {
		return shown, nil
	}
	creds, err := OpenCredentials(k, sealed)
	if err != nil {
		return "", err
	}
	return git.WithCredentials(shown, creds), nil
}

// mirror is p's mirror, once the policy allows p's URL now, and the hold
// that keeps git's contact with the remote to what was checked (with p's
// SSH key for an SSH URL, and then a mirror of that key's alone). The
// caller calls done once git is through with the remote.
func (s *Service) mirror(ctx context.Context, p *lathe.Project) (_ *git.Mirror, _ git.Hold, done func(), _ error) {
	hold, err := s.Policy.Check(ctx, p.URL, p.URLByAdmin)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("project %s: %w: %v", p.Name, lathe.ErrInvalid, err)
	}
	u, err := CloneURL(s.Keys, p.URL, p.URLCredentials)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("project %s: %w", p.Name, err)
	}
	hold, identity, done, err := s.sshHold(ctx, p, hold)
	if err != nil {
		return nil, nil, nil, err
	}
	return s.Mirrors.ForIdentity(u, identity), hold, done, nil
}

// DefaultBranch is the branch the project's repository names as its
// default (its HEAD), asked of the repository as a trigger reaches it.
func (s *Service) DefaultBranch(ctx context.Context, p *lathe.Project) (string, error) {
	m, hold, done, err := s.mirror(ctx, p)
	if err != nil {
		return "", err
	}
	defer done()
	return m.DefaultBranch(ctx, hold)
}
