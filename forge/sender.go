package forge

import (
	"fmt"
	"net/http"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// Sender is the software that sends a webhook, as the hook's URL names it
// (/api/v1/hooks/{sender}/{project}): it decides the headers that carry
// the signature, the event's name and the delivery's ID. Forgejo and Gogs
// send Gitea's payloads under their own header names.
type Sender string

// The senders whose hooks Lathe reads.
const (
	SenderGitHub  Sender = "github"
	SenderGitLab  Sender = "gitlab"
	SenderGitea   Sender = "gitea"
	SenderForgejo Sender = "forgejo"
	SenderGogs    Sender = "gogs"
)

// Senders lists every sender, in the order documentation shows them.
var Senders = []Sender{SenderGitHub, SenderGitLab, SenderGitea, SenderForgejo, SenderGogs}

// ParseSender checks the sender named in a hook's URL.
func ParseSender(s string) (Sender, error) {
	for _, k := range Senders {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("forge_kind %q: want github, gitlab, gitea, forgejo or gogs: %w", s, lathe.ErrInvalid)
}

// Kind is the API the sender's payloads follow.
func (s Sender) Kind() Kind {
	switch s {
	case SenderGitHub:
		return GitHub
	case SenderGitLab:
		return GitLab
	}
	return Gitea
}

// prefix is the sender's header prefix for Gitea's family: X-Gitea-,
// X-Forgejo-, X-Gogs-.
func (s Sender) prefix() string {
	switch s {
	case SenderForgejo:
		return "X-Forgejo-"
	case SenderGogs:
		return "X-Gogs-"
	}
	return "X-Gitea-"
}

// SignatureHeader is the header that carries the hook's signature (for
// GitLab, the secret itself).
func (s Sender) SignatureHeader() string {
	switch s {
	case SenderGitHub:
		return "X-Hub-Signature-256"
	case SenderGitLab:
		return "X-Gitlab-Token"
	}
	return s.prefix() + "Signature"
}

// EventHeader is the header that names the event.
func (s Sender) EventHeader() string {
	switch s {
	case SenderGitHub:
		return "X-GitHub-Event"
	case SenderGitLab:
		return "X-Gitlab-Event"
	}
	return s.prefix() + "Event"
}

// eventName is the name the sender gives the event (push, pull_request,
// "Merge Request Hook"…).
func (s Sender) eventName(h http.Header) string {
	return strings.TrimSpace(h.Get(s.EventHeader()))
}

// Delivery is the ID the sender gives one delivery, the same when it
// delivers it again; "" when the request carries none.
func (s Sender) Delivery(h http.Header) string {
	switch s {
	case SenderGitHub:
		return h.Get("X-GitHub-Delivery")
	case SenderGitLab:
		// Idempotency-Key stays the same across GitLab's retries; older
		// GitLab sends only the event's UUID.
		if k := h.Get("Idempotency-Key"); k != "" {
			return k
		}
		return h.Get("X-Gitlab-Event-UUID")
	}
	return strings.TrimSpace(h.Get(s.prefix() + "Delivery"))
}
