package engine

import (
	"path"

	lathe "github.com/lathe-ci/lathe"
)

// HookTrust is what decides whether a forge hook's code is trusted: where
// it comes from and what the project says.
type HookTrust struct {
	// PullRequest says the hook is a pull request's; Fork that its head is
	// in another repository.
	PullRequest, Fork bool
	// Branch is the branch a push updates ("" for a tag).
	Branch string
	// Protected are the project's protected branch patterns; PRTrust its
	// rule for pull requests from the repository itself (lathe.PRTrust…).
	Protected []string
	PRTrust   string
}

// Trust is the decision on a hook's code.
type Trust int

// A hook is trusted, untrusted, or trusted only if its author may write
// to the repository, as the forge says or as Lathe's roles say.
const (
	Untrusted Trust = iota
	Trusted
	AuthorWriteOnForge
	AuthorWriteInLathe
)

// DecideHookTrust decides the trust of a hook's code. A fork's pull
// request is never trusted. A push is trusted when the project protects no
// branch or the branch matches a protected pattern (the forge decides who
// may push there); a push elsewhere, and a pull request from the
// repository itself, are trusted as the project's pr_trust says of their
// author.
func DecideHookTrust(h HookTrust) Trust {
	if h.PullRequest && h.Fork {
		return Untrusted
	}
	if !h.PullRequest {
		if len(h.Protected) == 0 {
			return Trusted
		}
		for _, p := range h.Protected {
			if ok, _ := path.Match(p, h.Branch); ok && h.Branch != "" {
				return Trusted
			}
		}
	}
	switch h.PRTrust {
	case lathe.PRTrustEveryone:
		return Trusted
	case lathe.PRTrustWriteInLathe:
		return AuthorWriteInLathe
	case lathe.PRTrustWriteOnForge, "":
		return AuthorWriteOnForge
	}
	return Untrusted
}
