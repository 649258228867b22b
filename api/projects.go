package api

import (
	"net/http"
	"regexp"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

var (
	projectName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)
	allDigits   = regexp.MustCompile(`^[0-9]+$`)
)

// projectInput is the body of create and update; absent fields keep their value on update.
type projectInput struct {
	Name          *string `json:"name"`
	URL           *string `json:"url"`
	DefaultBranch *string `json:"default_branch"`
	// Visibility is "private" (the default) or "public".
	Visibility *string `json:"visibility"`
}

func (in projectInput) apply(p *lathe.Project) error {
	if in.Name != nil {
		p.Name = *in.Name
	}
	if in.URL != nil {
		p.URL = strings.TrimSpace(*in.URL)
	}
	if in.DefaultBranch != nil {
		p.DefaultBranch = *in.DefaultBranch
	}
	if in.Visibility != nil {
		p.Visibility = *in.Visibility
	}
	if p.Visibility == "" {
		p.Visibility = lathe.VisibilityPrivate
	}
	switch {
	case !projectName.MatchString(p.Name):
		return problemf(http.StatusBadRequest, "name: %q must be 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit", p.Name)
	case allDigits.MatchString(p.Name):
		return problemf(http.StatusBadRequest, "name: %q must not be all digits (a number in a URL means a project ID)", p.Name)
	case p.URL == "":
		return problemf(http.StatusBadRequest, "url: required: a git URL or path that `git clone` accepts")
	case strings.HasPrefix(p.URL, "-"):
		return problemf(http.StatusBadRequest, "url: %q must not start with '-'", p.URL)
	case p.DefaultBranch == "" || strings.HasPrefix(p.DefaultBranch, "-"):
		return problemf(http.StatusBadRequest, "default_branch: %q is not a branch name", p.DefaultBranch)
	case p.Visibility != lathe.VisibilityPrivate && p.Visibility != lathe.VisibilityPublic:
		return problemf(http.StatusBadRequest, "visibility: %q must be private or public", p.Visibility)
	}
	return nil
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) {
	var in projectInput
	if err := decode(w, r, &in); err != nil {
		writeProblem(w, r, err)
		return
	}
	p := &lathe.Project{DefaultBranch: "main"}
	if err := in.apply(p); err != nil {
		writeProblem(w, r, err)
		return
	}
	if err := s.store.CreateProject(r.Context(), p); err != nil {
		writeProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/projects/"+p.Name)
	writeJSON(w, http.StatusCreated, p)
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	before, limit, err := pageParams(r)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	page, err := s.store.ProjectsFor(r.Context(), principal(r.Context()).viewer(), before, limit)
	respond(w, r, http.StatusOK, page, err)
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, projectOf(r))
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request) {
	var in projectInput
	if err := decode(w, r, &in); err != nil {
		writeProblem(w, r, err)
		return
	}
	p := projectOf(r)
	old := *p
	if err := in.apply(p); err != nil {
		writeProblem(w, r, err)
		return
	}
	if err := s.store.UpdateProject(r.Context(), p); err != nil {
		writeProblem(w, r, err)
		return
	}
	s.audit(r, principal(r.Context()).User, "project.updated", p, projectChanges(&old, p))
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) {
	p := projectOf(r)
	if err := s.store.DeleteProject(r.Context(), p.ID); err != nil {
		writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
