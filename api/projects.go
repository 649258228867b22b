package api

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
)

var (
	projectName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`) })
	allDigits   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+$`) })
)

// projectInput is the body of create and update; absent fields keep their value on update.
type projectInput struct {
	Name          *string `json:"name"`
	URL           *string `json:"url"`
	DefaultBranch *string `json:"default_branch"`
	// Visibility is "private" (the default) or "public".
	Visibility *string `json:"visibility"`
	// AllowAPIPipelines lets writers run posted pipeline YAML (default off).
	AllowAPIPipelines *bool `json:"allow_api_pipelines"`
	// The project's forge settings (see projectforge.go).
	Forge             *string   `json:"forge"`
	Repo              *string   `json:"repo"`
	ProtectedBranches *[]string `json:"protected_branches"`
	PRTrust           *string   `json:"pr_trust"`
	UntrustedLabels   *[]string `json:"untrusted_labels"`
}

// apply checks the input and copies it into p, all but the URL: it returns
// the URL to set (trimmed; p's own when none is given) for setURL.
func (in projectInput) apply(p *lathe.Project) (string, error) {
	if in.Name != nil {
		p.Name = *in.Name
	}
	url := p.URL
	if in.URL != nil {
		url = strings.TrimSpace(*in.URL)
	}
	if in.DefaultBranch != nil {
		p.DefaultBranch = *in.DefaultBranch
	}
	if in.Visibility != nil {
		p.Visibility = *in.Visibility
	}
	if in.AllowAPIPipelines != nil {
		p.AllowAPIPipelines = *in.AllowAPIPipelines
	}
	if p.Visibility == "" {
		p.Visibility = lathe.VisibilityPrivate
	}
	var err error
	switch {
	case !projectName().MatchString(p.Name):
		err = problemf(http.StatusBadRequest, "name: %q must be 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit", p.Name)
	case allDigits().MatchString(p.Name):
		err = problemf(http.StatusBadRequest, "name: %q must not be all digits (a number in a URL means a project ID)", p.Name)
	case url == "":
		err = problemf(http.StatusBadRequest, "url: required: a git URL or path that `git clone` accepts")
	case strings.HasPrefix(url, "-"):
		err = problemf(http.StatusBadRequest, "url: %q must not start with '-'", git.Redact(url))
	case p.DefaultBranch == "" || strings.HasPrefix(p.DefaultBranch, "-"):
		err = problemf(http.StatusBadRequest, "default_branch: %q is not a branch name", p.DefaultBranch)
	case p.Visibility != lathe.VisibilityPrivate && p.Visibility != lathe.VisibilityPublic:
		err = problemf(http.StatusBadRequest, "visibility: %q must be private or public", p.Visibility)
	}
	return url, err
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) error {
	var in projectInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p := &lathe.Project{DefaultBranch: "main"}
	if err := s.applyProject(r, in, p); err != nil {
		return err
	}
	if err := s.store.CreateProject(r.Context(), p); err != nil {
		return err
	}
	if in.DefaultBranch == nil && !p.URLFromForge {
		s.adoptDefaultBranch(r, p)
	}
	s.audit(r, principal(r.Context()).User, "project.created", p, map[string]any{"project_id": p.ID, "url": git.Redact(p.URL),
		"default_branch": p.DefaultBranch, "visibility": p.Visibility})
	w.Header().Set("Location", "/api/v1/projects/"+p.Name)
	writeJSON(w, http.StatusCreated, p)
	return nil
}

// defaultBranchWait bounds asking a new project's repository for its
// default branch.
const defaultBranchWait = 10 * time.Second

// adoptDefaultBranch makes the branch the new project's repository names
// as its default (its HEAD: master, trunk, …) the project's, when the
// request named none and the URL is not a forge's (whose repositories are
// made with main by these forges' own default). A repository that cannot
// be reached yet (its deploy key not added, say) leaves main, which an
// update can change.
func (s *Server) adoptDefaultBranch(r *http.Request, p *lathe.Project) {
	ctx, cancel := context.WithTimeout(r.Context(), defaultBranchWait)
	defer cancel()
	branch, err := s.trigger.DefaultBranch(ctx, p)
	if err != nil {
		slogFrom(r).Info("a new project keeps the default branch main: its repository did not say its own",
			"project", p.Name, "err", git.Redact(err.Error()))
		return
	}
	if branch == p.DefaultBranch || strings.HasPrefix(branch, "-") {
		return
	}
	was := p.DefaultBranch
	p.DefaultBranch = branch
	if err := s.store.UpdateProject(r.Context(), p); err != nil {
		slogFrom(r).Warn("cannot set a new project's default branch", "project", p.Name, "branch", branch, "err", err)
		p.DefaultBranch = was
	}
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	p := principal(r.Context())
	page, err := s.store.ProjectsFor(r.Context(), p.viewer(), before, limit)
	if err != nil {
		return err
	}
	ids := make([]int64, len(page.Items))
	for i, proj := range page.Items {
		ids[i] = proj.ID
	}
	roles, err := s.store.ProjectRoles(r.Context(), p.UserID, ids)
	if err != nil {
		return err
	}
	out := lathe.Page[projectView]{Items: make([]projectView, len(page.Items)), Next: page.Next}
	for i, proj := range page.Items {
		out.Items[i] = projectView{Project: *proj, Role: roleOf(p, proj, roles[proj.ID])}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// roleOf is the caller's role on a project given the role it holds there
// (see roleOn, which asks the store for it).
func roleOf(p *Principal, proj *lathe.Project, held lathe.Role) lathe.Role {
	switch {
	case p.Admin:
		return lathe.RoleOwner
	case proj.Visibility == lathe.VisibilityPublic && held.Rank() < lathe.RoleRead.Rank():
		return lathe.RoleRead
	case p.User == "":
		return lathe.RoleNone
	}
	return held
}

// projectView is one project with the caller's role on it, so a client (the
// web UI) offers only the actions the API would allow.
type projectView struct {
	lathe.Project
	Role lathe.Role `json:"role"`
}

// projectDetail is one project as fetched alone: with its newest tracked
// branches (Kraken's project with its branches); the rest are at GET
// …/branches.
type projectDetail struct {
	projectView
	Branches []*lathe.Branch `json:"branches"`
}

// projectBranches is how many branches a project's view carries.
const projectBranches = 100

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	bs, err := s.store.Branches(r.Context(), p.ID, 0, projectBranches)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, projectDetail{projectView: projectView{Project: *p, Role: principal(r.Context()).Role}, Branches: orEmpty(bs.Items)})
	return nil
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request) error {
	var in projectInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p := projectOf(r)
	old := *p
	if err := s.applyProject(r, in, p); err != nil {
		return err
	}
	if err := s.store.UpdateProject(r.Context(), p); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "project.updated", p, projectChanges(&old, p))
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	if err := s.store.DeleteProject(r.Context(), p.ID); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "project.deleted", p, map[string]any{"project_id": p.ID})
	// The project is gone whatever happens here; a leftover is pruned at the next start.
	if err := s.pruneUploads(r.Context()); err != nil {
		slogFrom(r).Warn("remove the uploads of a deleted project", "project", p.Name, "err", err)
	}
	if err := s.pruneResults(r.Context()); err != nil {
		slogFrom(r).Warn("remove the artifacts and caches of a deleted project", "project", p.Name, "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
