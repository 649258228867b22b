package api

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"unicode/utf8"
)

// A project's hook secret signs its forge hooks (/api/v1/hooks/{forge_kind}/{project}).
// It is sealed like a secret and shown once: in the answer that generated it.

// minHookSecret is the shortest hook secret a project may choose.
const minHookSecret = 16

// maxHookSecret bounds a chosen hook secret.
const maxHookSecret = 1024

type hookSecretInput struct {
	Secret string `json:"secret"`
}

// hookSecretAnswer carries a generated secret, this once.
type hookSecretAnswer struct {
	Secret string `json:"secret"`
}

// generateHookSecret makes the project a new random hook secret and
// answers with it; the old one stops working.
func (s *Server) generateHookSecret(w http.ResponseWriter, r *http.Request) error {
	if err := s.forgeKeys(); err != nil {
		return err
	}
	b := make([]byte, 32)
	rand.Read(b)
	secret := hex.EncodeToString(b)
	if err := s.setHookSecret(r, secret, "generated"); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, hookSecretAnswer{Secret: secret})
	return nil
}

// putHookSecret sets a hook secret the owner chose (the one typed into the
// forge's hook settings).
func (s *Server) putHookSecret(w http.ResponseWriter, r *http.Request) error {
	var in hookSecretInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := s.forgeKeys(); err != nil {
		return err
	}
	switch n := utf8.RuneCountInString(in.Secret); {
	case n < minHookSecret:
		return problemf(http.StatusBadRequest, "secret: %d characters; a hook secret needs at least %d", n, minHookSecret)
	case len(in.Secret) > maxHookSecret:
		return problemf(http.StatusBadRequest, "secret: %d bytes; at most %d", len(in.Secret), maxHookSecret)
	case strings.ContainsAny(in.Secret, "\x00\r\n"):
		// GitLab sends it in a header.
		return problemf(http.StatusBadRequest, "secret: must not contain NUL or line breaks")
	}
	return noContent(w, s.setHookSecret(r, in.Secret, "chosen"))
}

func (s *Server) setHookSecret(r *http.Request, secret, how string) error {
	p := projectOf(r)
	if err := s.store.SetHookSecret(r.Context(), s.keys, p.ID, secret); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "hook_secret.set", p, map[string]any{"how": how})
	return nil
}
