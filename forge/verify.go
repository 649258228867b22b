package forge

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrSignature is a hook whose signature is missing or does not match the
// project's hook secret.
var ErrSignature = errors.New("hook signature")

// Verify checks a hook's signature over its raw body, before anything in
// it is read: GitHub's X-Hub-Signature-256 (sha256=<hex HMAC-SHA256>),
// Gitea's, Forgejo's and Gogs's X-…-Signature (hex HMAC-SHA256), GitLab's
// X-Gitlab-Token (the secret itself). Comparisons take constant time. An
// empty secret verifies nothing.
func Verify(s Sender, secret []byte, h http.Header, body []byte) error {
	header := s.SignatureHeader()
	got := h.Get(header)
	if len(secret) == 0 {
		return fmt.Errorf("%w: the project has no hook secret; set one with POST /api/v1/projects/{project}/hook-secret", ErrSignature)
	}
	if got == "" {
		return fmt.Errorf("%w: the request has no %s header", ErrSignature, header)
	}
	if s == SenderGitLab {
		// Hash both so the comparison's time says nothing of the length.
		a, b := sha256.Sum256([]byte(got)), sha256.Sum256(secret)
		if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
			return fmt.Errorf("%w: %s does not match the project's hook secret", ErrSignature, header)
		}
		return nil
	}
	if s == SenderGitHub {
		var ok bool
		if got, ok = strings.CutPrefix(got, "sha256="); !ok {
			return fmt.Errorf("%w: %s must be sha256=<hex>", ErrSignature, header)
		}
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return fmt.Errorf("%w: %s is not hexadecimal", ErrSignature, header)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body signed with the project's hook secret", ErrSignature, header)
	}
	return nil
}

// Sign returns the headers a sender puts on body signed with secret: what
// Verify accepts. Tests and the benchmark send hooks with it.
func Sign(s Sender, secret, body []byte) http.Header {
	h := http.Header{}
	if s == SenderGitLab {
		h.Set(s.SignatureHeader(), string(secret))
		return h
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	sig := hex.EncodeToString(mac.Sum(nil))
	if s == SenderGitHub {
		sig = "sha256=" + sig
	}
	h.Set(s.SignatureHeader(), sig)
	return h
}

// EventHeaders returns the headers that name a delivery's event and ID as
// the sender sends them: event is the sender's own name for it (push,
// pull_request; GitLab's "Push Hook", "Merge Request Hook"…).
func EventHeaders(s Sender, event, delivery string) http.Header {
	h := http.Header{}
	h.Set(s.EventHeader(), event)
	switch s {
	case SenderGitHub:
		h.Set("X-GitHub-Delivery", delivery)
	case SenderGitLab:
		h.Set("X-Gitlab-Event-UUID", delivery)
	default:
		h.Set(s.prefix()+"Delivery", delivery)
	}
	return h
}
