package lathe

import "time"

// Forge is a connection to a code forge (GitHub, GitLab, Gitea and the
// forges sharing its API): where it is and the token Lathe uses there.
// The token is sealed like a secret and never leaves the server.
type Forge struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Kind is github, gitlab or gitea.
	Kind string `json:"kind"`
	// URL is the forge's web base (https://github.com); a project's clone
	// URL is URL/owner/name.git.
	URL string `json:"url"`
	// APIURL is the base of its REST API (https://api.github.com).
	APIURL    string    `json:"api_url"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Who may open a trusted pull request from a project's own repository
// (Project.PRTrust); pull requests from forks are never trusted.
const (
	// PRTrustWriteOnForge trusts authors the forge says may write to the
	// repository (the default).
	PRTrustWriteOnForge = "write_on_forge"
	// PRTrustWriteInLathe trusts authors whose forge login is the name of a
	// Lathe user with write on the project.
	PRTrustWriteInLathe = "write_in_lathe"
	// PRTrustEveryone trusts every pull request from the repository itself.
	PRTrustEveryone = "everyone"
)
