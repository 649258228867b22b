package api

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"

	lathe "github.com/lathe-ci/lathe"
)

// environmentName is the form of an environment's name.
var environmentName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`) })

// environmentInput creates or updates an environment.
type environmentInput struct {
	Name           string   `json:"name"`
	Position       int      `json:"position"`
	DeployPipeline string   `json:"deploy_pipeline"`
	Protected      bool     `json:"protected"`
	Approvers      []string `json:"approvers"`
	SecondPerson   bool     `json:"second_person"`
}

// environmentList is the answer to listing a project's environments.
type environmentList struct {
	Items []*lathe.Environment `json:"items"`
}

// check validates the input and returns the environment it describes.
func (in environmentInput) check() (*lathe.Environment, error) {
	if !environmentName().MatchString(in.Name) {
		return nil, problemf(http.StatusBadRequest, "name: %q must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit", in.Name)
	}
	if in.Position < 0 || in.Position > 1000 {
		return nil, problemf(http.StatusBadRequest, "position: %d must be from 0 to 1000", in.Position)
	}
	if len(in.DeployPipeline) > 200 {
		return nil, problemf(http.StatusBadRequest, "deploy_pipeline: at most 200 characters")
	}
	if len(in.Approvers) > 100 {
		return nil, problemf(http.StatusBadRequest, "approvers: at most 100")
	}
	for _, a := range in.Approvers {
		kind, name, ok := strings.Cut(a, ":")
		if !ok || name == "" || len(name) > 200 || (kind != "user" && kind != "team" && kind != "role") {
			return nil, problemf(http.StatusBadRequest, "approvers: %q must be user:NAME, team:NAME or role:ROLE", a)
		}
		if kind == "role" && name != string(lathe.RoleRead) && name != string(lathe.RoleWrite) && name != string(lathe.RoleOwner) {
			return nil, problemf(http.StatusBadRequest, "approvers: %q names no role; roles are read, write and owner", a)
		}
		if kind == "role" && name == string(lathe.RoleRead) {
			return nil, problemf(http.StatusBadRequest, "approvers: %q can never approve: approving needs write on the project (name role:write or role:owner)", a)
		}
	}
	if in.Approvers == nil {
		in.Approvers = []string{}
	}
	return &lathe.Environment{Name: in.Name, Position: in.Position, DeployPipeline: in.DeployPipeline, Protected: in.Protected,
		Approvers: in.Approvers, SecondPerson: in.SecondPerson}, nil
}

// checkApprovers refuses approvers who could never approve: users who do
// not exist or hold less than write on the project (admins approve
// anywhere), and teams that do not exist. A role changed later is the
// approval's own check, at the gate.
func (s *Server) checkApprovers(ctx context.Context, p *lathe.Project, approvers []string) error {
	for _, a := range approvers {
		kind, name, _ := strings.Cut(a, ":")
		switch kind {
		case "user":
			u, err := s.store.User(ctx, name)
			if errors.Is(err, lathe.ErrNotFound) {
				return problemf(http.StatusBadRequest, "approvers: %q: there is no user %s", a, name)
			}
			if err != nil {
				return err
			}
			if u.Admin {
				continue
			}
			role, err := s.store.ProjectRole(ctx, u.ID, p.ID)
			if err != nil {
				return err
			}
			if role.Rank() < lathe.RoleWrite.Rank() {
				return problemf(http.StatusBadRequest, "approvers: %q can never approve: %s has %s on project %s and approving needs write (give them write, or name someone who has it)",
					a, name, cmp.Or(string(role), "no role"), p.Name)
			}
		case "team":
			if _, err := s.store.Team(ctx, name); errors.Is(err, lathe.ErrNotFound) {
				return problemf(http.StatusBadRequest, "approvers: %q: there is no team %s", a, name)
			} else if err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) createEnvironment(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	var in environmentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	e, err := in.check()
	if err != nil {
		return err
	}
	if err := s.checkApprovers(r.Context(), p, e.Approvers); err != nil {
		return err
	}
	e.Project = p.Name
	if err := s.store.CreateEnvironment(r.Context(), p.ID, e); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "environment.created", p, map[string]any{"environment": e.Name})
	w.Header().Set("Location", "/api/v1/projects/"+p.Name+"/environments/"+e.Name)
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	es, err := s.store.Environments(r.Context(), projectOf(r).ID)
	return respond(w, http.StatusOK, environmentList{Items: es}, err)
}

// listAllEnvironments serves a page of the environments of the projects
// the caller may read (or of ?project=): by project, newest first (limit
// counts projects, whose environments never split across pages), each
// project's in promotion order.
func (s *Server) listAllEnvironments(w http.ResponseWriter, r *http.Request) error {
	id, err := s.readableProjectID(r, r.URL.Query().Get("project"))
	if err != nil {
		return err
	}
	before, limit, err := projectPageParams(r)
	if err != nil {
		return err
	}
	page, err := s.store.EnvironmentsFor(r.Context(), principal(r.Context()).viewer(), id, before, limit)
	return respond(w, http.StatusOK, page, err)
}

func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	e, err := s.store.Environment(r.Context(), projectOf(r).ID, r.PathValue("env"))
	return respond(w, http.StatusOK, e, err)
}

// updateEnvironment replaces an environment's settings; its name stays
// (a body naming another is refused).
func (s *Server) updateEnvironment(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	var in environmentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Name != "" && in.Name != r.PathValue("env") {
		return problemf(http.StatusBadRequest, "name: an environment keeps its name (%s); create %q and delete this one to move its settings", r.PathValue("env"), in.Name)
	}
	in.Name = r.PathValue("env")
	e, err := in.check()
	if err != nil {
		return err
	}
	if err := s.checkApprovers(r.Context(), p, e.Approvers); err != nil {
		return err
	}
	e.Project = p.Name
	old, err := s.store.Environment(r.Context(), p.ID, e.Name)
	if err != nil {
		return err
	}
	if err := s.store.UpdateEnvironment(r.Context(), p.ID, e); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "environment.updated", p, environmentChanges(old, e))
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) deleteEnvironment(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	if err := s.store.DeleteEnvironment(r.Context(), p.ID, r.PathValue("env")); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "environment.deleted", p, map[string]any{"environment": r.PathValue("env")})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// releaseEnvironment is the environment a deployment route names, 404 with
// the seed's message when there is none.
func (s *Server) releaseEnvironment(r *http.Request) (*lathe.Environment, error) {
	e, err := s.store.Environment(r.Context(), projectOf(r).ID, r.PathValue("env"))
	if errors.Is(err, lathe.ErrNotFound) {
		return nil, problemf(http.StatusNotFound, "%s", msgNoEnv)
	}
	return e, err
}
