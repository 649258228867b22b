package store_test

import (
	"errors"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
)

// SSH keys: a project's first key stays when a second first request
// races it, a rotation replaces it, the server's key is one row, the
// private keys open only with the keyring and follow its rotation, and
// known hosts are kept per project until forgotten.
func TestSSHKeys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		oldKey, newKey := secret.NewKey(), secret.NewKey()
		k := keyring(t, oldKey)
		p := mustProject(t, s, "web")
		if _, err := s.ProjectSSHPublicKey(ctx, p.ID); !errors.Is(err, lathe.ErrNotFound) {
			t.Errorf("key of a project without one: %v, want ErrNotFound", err)
		}
		if _, err := s.ProjectSSHPrivateKey(ctx, k, p.ID); !errors.Is(err, lathe.ErrNotFound) {
			t.Errorf("private key of a project without one: %v, want ErrNotFound", err)
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s.AddProjectSSHKey(ctx, k, p.ID, "pub-1", []byte("priv-1"), false))
		must(s.AddProjectSSHKey(ctx, k, p.ID, "pub-2", []byte("priv-2"), false))
		if pub, _ := s.ProjectSSHPublicKey(ctx, p.ID); pub != "pub-1" {
			t.Errorf("after a racing first key: %q, want the first stored", pub)
		}
		must(s.AddProjectSSHKey(ctx, k, p.ID, "pub-3", []byte("priv-3"), true))
		pub, _ := s.ProjectSSHPublicKey(ctx, p.ID)
		priv, err := s.ProjectSSHPrivateKey(ctx, k, p.ID)
		if pub != "pub-3" || string(priv) != "priv-3" || err != nil {
			t.Errorf("after a rotation: %q, %q, %v; want the new pair", pub, priv, err)
		}

		must(s.AddServerSSHKey(ctx, k, "server-pub", []byte("server-priv")))
		must(s.AddServerSSHKey(ctx, k, "other-pub", []byte("other-priv")))
		if pub, _ := s.ServerSSHPublicKey(ctx); pub != "server-pub" {
			t.Errorf("server key = %q, want the first stored", pub)
		}

		// Re-encryption under a new secret key covers both.
		rotated := keyring(t, newKey, oldKey)
		if n, err := s.ReencryptSecrets(ctx, rotated); err != nil || n != 2 {
			t.Errorf("re-encrypt: %d values, %v; want 2 (the project's and the server's SSH keys)", n, err)
		}
		only := keyring(t, newKey)
		if priv, err := s.ProjectSSHPrivateKey(ctx, only, p.ID); err != nil || string(priv) != "priv-3" {
			t.Errorf("project SSH key under the new secret key: %q, %v", priv, err)
		}
		if priv, err := s.ServerSSHPrivateKey(ctx, only); err != nil || string(priv) != "server-priv" {
			t.Errorf("server SSH key under the new secret key: %q, %v", priv, err)
		}
		if _, err := s.ServerSSHPrivateKey(ctx, keyring(t, secret.NewKey())); err == nil {
			t.Errorf("the server's SSH key opened with another secret key")
		}

		if kh, err := s.ProjectKnownHosts(ctx, p.ID); kh != "" || err != nil {
			t.Errorf("known hosts before any contact: %q, %v", kh, err)
		}
		must(s.SetProjectKnownHosts(ctx, p.ID, "host ssh-ed25519 AAAA\n"))
		must(s.SetProjectKnownHosts(ctx, p.ID, "host ssh-ed25519 AAAA\nother ssh-ed25519 BBBB\n"))
		if kh, _ := s.ProjectKnownHosts(ctx, p.ID); kh != "host ssh-ed25519 AAAA\nother ssh-ed25519 BBBB\n" {
			t.Errorf("known hosts = %q", kh)
		}
		must(s.ForgetKnownHosts(ctx, p.ID))
		if kh, _ := s.ProjectKnownHosts(ctx, p.ID); kh != "" {
			t.Errorf("known hosts after forgetting them = %q", kh)
		}
	})
}
