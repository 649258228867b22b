package trigger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
)

// SSH keys for private repositories (Zuul's project and tenant SSH keys).
// A project whose URL is an SSH URL is read with a private key: the
// project's own when it has one (made the first time someone asks for its
// public key, and replaced by a rotation), else the server's, made on
// first use. The public key goes into the repository host's deploy keys.
//
// Host keys are trusted on first use, per project: the first time the
// server reaches a project's host it records the host's key
// (StrictHostKeyChecking=accept-new into a file of the project's), and
// from then on the server refuses that host with any other key, and
// agents accept only the keys the server recorded. The list is stored
// with the project (project_known_hosts), shown by the API, and cleared
// by its owner when a host's key really changed.

// errNoSecretKey is why a server without a secret key cannot use SSH keys.
var errNoSecretKey = fmt.Errorf("SSH keys are sealed with the server's secret key, and this server has none: %w", lathe.ErrInvalid)

// ProjectSSHKey returns the project's SSH public key (an authorized_keys
// line), making the key pair on first use; with rotate a new pair
// replaces the one it has, which nothing uses again.
func ProjectSSHKey(ctx context.Context, st *store.Store, k *secret.Keyring, p *lathe.Project, rotate bool) (string, error) {
	if k == nil {
		return "", errNoSecretKey
	}
	if !rotate {
		pub, err := st.ProjectSSHPublicKey(ctx, p.ID)
		if !errors.Is(err, lathe.ErrNotFound) {
			return pub, err
		}
	}
	pub, priv, err := secret.GenerateSSHKey("lathe-project-" + p.Name)
	if err != nil {
		return "", err
	}
	if err := st.AddProjectSSHKey(ctx, k, p.ID, pub, priv, rotate); err != nil {
		return "", err
	}
	// Another request may have stored its key first: read what won.
	return st.ProjectSSHPublicKey(ctx, p.ID)
}

// ServerSSHKey returns the server's SSH public key, making the key pair on
// first use.
func ServerSSHKey(ctx context.Context, st *store.Store, k *secret.Keyring) (string, error) {
	if k == nil {
		return "", errNoSecretKey
	}
	pub, err := st.ServerSSHPublicKey(ctx)
	if !errors.Is(err, lathe.ErrNotFound) {
		return pub, err
	}
	pub, priv, err := secret.GenerateSSHKey("lathe-server")
	if err != nil {
		return "", err
	}
	if err := st.AddServerSSHKey(ctx, k, pub, priv); err != nil {
		return "", err
	}
	return st.ServerSSHPublicKey(ctx)
}

// CheckoutKey returns the private key that reads the project's repository
// over SSH: the project's own, else the server's (made now if need be).
func CheckoutKey(ctx context.Context, st *store.Store, k *secret.Keyring, projectID int64) ([]byte, error) {
	if k == nil {
		return nil, errNoSecretKey
	}
	priv, err := st.ProjectSSHPrivateKey(ctx, k, projectID)
	if !errors.Is(err, lathe.ErrNotFound) {
		return priv, err
	}
	if _, err := ServerSSHKey(ctx, st, k); err != nil {
		return nil, err
	}
	return st.ServerSSHPrivateKey(ctx, k)
}

// sshHold adds to hold what git needs to read p's repository over SSH,
// when p's URL is an SSH URL: the key and the project's known hosts, in a
// private temporary directory. done removes the directory, first storing
// the host keys met for the first time.
// identity names the key (a digest of it) for git.Mirrors.ForIdentity.
func (s *Service) sshHold(ctx context.Context, p *lathe.Project, hold git.Hold) (_ git.Hold, identity string, done func(), err error) {
	if !git.IsSSH(p.URL) {
		return hold, "", func() {}, nil
	}
	key, err := CheckoutKey(ctx, s.Store, s.Keys, p.ID)
	if err != nil {
		return nil, "", nil, fmt.Errorf("project %s: the SSH key for %s: %w", p.Name, git.Redact(p.URL), err)
	}
	known, err := s.Store.ProjectKnownHosts(ctx, p.ID)
	if err != nil {
		return nil, "", nil, err
	}
	dir, ssh, err := git.WriteSSHFiles(key, known)
	if err != nil {
		return nil, "", nil, fmt.Errorf("project %s: %w", p.Name, err)
	}
	sum := sha256.Sum256(key)
	done = func() {
		defer os.RemoveAll(dir)
		b, err := os.ReadFile(ssh.KnownHosts)
		if now := strings.TrimSpace(string(b)); err == nil && now != strings.TrimSpace(known) {
			// ssh only adds hosts it met for the first time (accept-new).
			if err := s.Store.SetProjectKnownHosts(context.WithoutCancel(ctx), p.ID, now+"\n"); err != nil {
				s.log().Warn("cannot store the SSH host keys of a project", "project", p.Name, "err", err)
			}
		}
	}
	return hold.WithSSH(ssh), "ssh-key:" + hex.EncodeToString(sum[:16]), done, nil
}

// log is the service's logger.
func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}
