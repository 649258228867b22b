package api

import (
	"errors"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
)

// A project's forge settings: the forge connection and repository it is
// on (its URL comes from the forge unless it sets one), the branches whose
// pushes are trusted, and who may open a trusted pull request.

// repoPath is owner/name, or GitLab's group/subgroup/name.
var repoPath = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$`)
})

// maxProtected bounds a project's protected branch patterns.
const maxProtected = 100

// maxUntrustedLabels bounds the labels a project adds to its untrusted jobs.
const maxUntrustedLabels = 20

// applyProject checks a create or update's input and copies it into p,
// with the URL as the caller may set it, or as the forge gives it.
func (s *Server) applyProject(r *http.Request, in projectInput, p *lathe.Project) error {
	fromForge, err := s.applyForge(r, in, p)
	if err != nil {
		return err
	}
	if fromForge != "" {
		in.URL = &fromForge
	}
	url, err := in.apply(p)
	if err != nil {
		return err
	}
	if fromForge == "" {
		return s.setURL(r, p, url)
	}
	// The forge's URL is an admin's choice, and the repository path has no
	// way out of it.
	if _, err := s.trigger.Policy.Check(r.Context(), url, true); err != nil {
		return problemf(http.StatusBadRequest, "%s", git.Redact(err.Error()))
	}
	p.URL, p.URLCredentials, p.URLByAdmin, p.URLFromForge = url, "", true, true
	return nil
}

// applyForge copies the forge settings of the input into p and returns
// the URL the forge gives the project when it takes its URL from the forge
// (it names a forge and gives no URL of its own), else "".
func (s *Server) applyForge(r *http.Request, in projectInput, p *lathe.Project) (string, error) {
	if err := forgeRetarget(r, in, p); err != nil {
		return "", err
	}
	forgeURL := ""
	if in.Forge != nil {
		p.ForgeID = 0
		if *in.Forge != "" {
			f, err := s.store.Forge(r.Context(), *in.Forge)
			if errors.Is(err, lathe.ErrNotFound) {
				return "", problemf(http.StatusBadRequest, "forge: no forge connection is named %q (see GET /api/v1/forges)", *in.Forge)
			}
			if err != nil {
				return "", err
			}
			p.ForgeID, forgeURL = f.ID, f.URL
		}
	} else if p.ForgeID != 0 {
		f, err := s.store.Forge(r.Context(), p.Forge)
		if err != nil {
			return "", err
		}
		forgeURL = f.URL
	}
	if in.Repo != nil {
		p.Repo = cleanRepo(*in.Repo)
	}
	switch {
	case p.Repo != "" && (!repoPath().MatchString(p.Repo) || strings.Contains(p.Repo, "..")):
		return "", problemf(http.StatusBadRequest, "repo: %q must be the repository's path on the forge, owner/name", p.Repo)
	case p.ForgeID != 0 && p.Repo == "":
		return "", problemf(http.StatusBadRequest, "repo: a project on a forge names its repository there, owner/name")
	case p.ForgeID == 0 && p.Repo != "":
		return "", problemf(http.StatusBadRequest, "forge: repo %q needs the forge connection it is on", p.Repo)
	}
	if in.ProtectedBranches != nil {
		if err := checkPatterns(*in.ProtectedBranches); err != nil {
			return "", err
		}
		p.ProtectedBranches = *in.ProtectedBranches
	}
	if in.UntrustedLabels != nil {
		if len(*in.UntrustedLabels) > maxUntrustedLabels {
			return "", problemf(http.StatusBadRequest, "untrusted_labels: %d labels; at most %d", len(*in.UntrustedLabels), maxUntrustedLabels)
		}
		// group:NAME routes to an agent group, as in runs-on.
		if err := checkLabelSyntax("untrusted_labels", *in.UntrustedLabels); err != nil {
			return "", err
		}
		p.UntrustedLabels = *in.UntrustedLabels
	}
	if in.PRTrust != nil {
		switch *in.PRTrust {
		case lathe.PRTrustWriteOnForge, lathe.PRTrustWriteInLathe, lathe.PRTrustEveryone:
			p.PRTrust = *in.PRTrust
		default:
			return "", problemf(http.StatusBadRequest, "pr_trust: %q must be %s, %s or %s", *in.PRTrust,
				lathe.PRTrustWriteOnForge, lathe.PRTrustWriteInLathe, lathe.PRTrustEveryone)
		}
	}
	if p.ForgeID == 0 {
		p.URLFromForge = false
		return "", nil
	}
	// No URL of its own: a new project's, or one that took the forge's.
	own := in.URL != nil && strings.TrimSpace(*in.URL) != ""
	if own || (in.URL == nil && p.ID != 0 && !p.URLFromForge) {
		p.URLFromForge = false
		return "", nil
	}
	return forgeURL + "/" + p.Repo + ".git", nil
}

// forgeRetarget refuses a caller who is not an admin pointing the project
// at a forge connection's repository: the connection is an admin's, and
// its token writes the statuses of the project's runs wherever the
// project says (an owner could otherwise mark another repository's
// commits as passing). Leaving the forge is anyone's who may update.
func forgeRetarget(r *http.Request, in projectInput, p *lathe.Project) error {
	if principal(r.Context()).Admin {
		return nil
	}
	if in.Forge != nil && *in.Forge != "" && *in.Forge != p.Forge {
		return forbidden("forge: only an admin points a project at a forge connection (its token writes the project's commit statuses)")
	}
	if in.Repo != nil && cleanRepo(*in.Repo) != "" && cleanRepo(*in.Repo) != p.Repo {
		return forbidden("repo: only an admin changes the repository a project reports to on its forge (the connection's token writes there)")
	}
	return nil
}

// cleanRepo is a repository path as given, without the slashes and .git
// around it.
func cleanRepo(s string) string {
	return strings.TrimSuffix(strings.Trim(strings.TrimSpace(s), "/"), ".git")
}

// checkPatterns refuses protected branch patterns that are empty or not
// patterns (path.Match's syntax: *, ?, [a-z]).
func checkPatterns(ps []string) error {
	if len(ps) > maxProtected {
		return problemf(http.StatusBadRequest, "protected_branches: %d patterns; at most %d", len(ps), maxProtected)
	}
	for _, pat := range ps {
		if _, err := path.Match(pat, ""); pat == "" || err != nil {
			return problemf(http.StatusBadRequest, "protected_branches: %q is not a branch pattern (use *, ? and [a-z])", pat)
		}
	}
	return nil
}
