// Package forge speaks to the code forges Lathe is connected to — GitHub,
// GitLab, and Gitea with the forges that share its API (Forgejo, Gogs): it
// reads and verifies their webhooks, and reports commit statuses back.
package forge

import (
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// Kind is the API a forge speaks.
type Kind string

// The kinds of forge Lathe connects to. Gitea's API and hooks also serve
// Forgejo and Gogs.
const (
	GitHub Kind = "github"
	GitLab Kind = "gitlab"
	Gitea  Kind = "gitea"
)

// Kinds lists every kind, in the order documentation shows them.
var Kinds = []Kind{GitHub, GitLab, Gitea}

// ParseKind checks a kind given by a user.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("forge kind %q: want github, gitlab or gitea (gitea also serves Forgejo and Gogs): %w", s, lathe.ErrInvalid)
}

// Repo is one repository on a connected forge, as the API clients need it:
// the forge's kind, its API base URL, the connection's token (opened, never
// stored like this), and the repository's owner and name.
type Repo struct {
	Kind   Kind
	APIURL string
	Token  string
	Owner  string
	Name   string
}
