package api

import (
	"errors"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/trigger"
)

// SSH keys for private repositories (Zuul's project-ssh-key and
// tenant-ssh-key): a project whose URL is an SSH URL is read with its own
// key, made the first time its public key is asked for, else with the
// server's. The public keys are served for the repository host's deploy
// keys; the private keys never leave the server but for the agent that
// checks a job out (see trigger.CheckoutKey).

// noSSHKeys answers when the server has no secret key to seal SSH keys.
func (s *Server) noSSHKeys() error {
	return problemf(http.StatusServiceUnavailable, "SSH keys are not available: this server has no secret key")
}

// writeText sends text as text/plain.
func writeText(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(text))
}

// getProjectSSHKey serves the project's SSH public key, an authorized_keys
// line, making the key pair on first use.
// Only an owner's request makes it: a project without a key of its own is
// read with the server's, and a reader must not switch it to a new key
// that the repository host does not know yet.
func (s *Server) getProjectSSHKey(w http.ResponseWriter, r *http.Request) error {
	if s.keys == nil {
		return s.noSSHKeys()
	}
	p := projectOf(r)
	pub, err := s.store.ProjectSSHPublicKey(r.Context(), p.ID)
	if errors.Is(err, lathe.ErrNotFound) {
		if principal(r.Context()).Role.Rank() < lathe.RoleOwner.Rank() {
			return problemf(http.StatusNotFound, "project %s has no SSH key of its own: it reads its repository with the server's key "+
				"(GET /api/v1/ssh-key.pub, `lathe ssh-key`); an owner of the project makes it one by asking for this key", p.Name)
		}
		pub, err = trigger.ProjectSSHKey(r.Context(), s.store, s.keys, p, false)
	}
	if err != nil {
		return err
	}
	writeText(w, pub)
	return nil
}

// rotateProjectSSHKey replaces the project's SSH key pair and serves the
// new public key: the old private key is gone, and neither the server nor
// any agent uses it again.
func (s *Server) rotateProjectSSHKey(w http.ResponseWriter, r *http.Request) error {
	if s.keys == nil {
		return s.noSSHKeys()
	}
	p := projectOf(r)
	pub, err := trigger.ProjectSSHKey(r.Context(), s.store, s.keys, p, true)
	if err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "project.ssh_key.rotated", p, nil)
	writeText(w, pub)
	return nil
}

// getServerSSHKey serves the server's SSH public key, which reads every
// project that has no key of its own.
func (s *Server) getServerSSHKey(w http.ResponseWriter, r *http.Request) error {
	if s.keys == nil {
		return s.noSSHKeys()
	}
	pub, err := trigger.ServerSSHKey(r.Context(), s.store, s.keys)
	if err != nil {
		return err
	}
	writeText(w, pub)
	return nil
}

// getKnownHosts serves the host keys the server trusted on first contact
// with the project's repository host, as known_hosts lines ("" before).
func (s *Server) getKnownHosts(w http.ResponseWriter, r *http.Request) error {
	kh, err := s.store.ProjectKnownHosts(r.Context(), projectOf(r).ID)
	if err != nil {
		return err
	}
	writeText(w, kh)
	return nil
}

// deleteKnownHosts forgets them, for a host whose key really changed: the
// next contact trusts the key it meets.
func (s *Server) deleteKnownHosts(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	if err := s.store.ForgetKnownHosts(r.Context(), p.ID); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "project.known_hosts.deleted", p, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
