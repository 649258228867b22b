package api

import (
	"net/http"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// Variables and secrets of an environment
// (/api/v1/projects/{project}/environments/{env}/variables): they reach
// only the jobs deploying to the environment, after its gate, and override
// the project's of the same name. A secret's value is never returned.

// variableInput sets a variable or a secret.
type variableInput struct {
	Value  string `json:"value"`
	Secret bool   `json:"secret"`
}

// variableList is the answer to listing an environment's variables.
type variableList struct {
	Items []*lathe.EnvironmentVariable `json:"items"`
}

func (s *Server) listEnvironmentVariables(w http.ResponseWriter, r *http.Request) error {
	e, err := s.releaseEnvironment(r)
	if err != nil {
		return err
	}
	vs, err := s.store.EnvironmentVariables(r.Context(), e.ID)
	return respond(w, http.StatusOK, variableList{Items: vs}, err)
}

// putEnvironmentVariable sets a variable or secret: 201 when new, 200 when
// replaced, with the variable (a secret without its value).
func (s *Server) putEnvironmentVariable(w http.ResponseWriter, r *http.Request) error {
	var in variableInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := validSecretName(name); err != nil {
		return err
	}
	if in.Secret {
		if s.keys == nil {
			return problemf(http.StatusServiceUnavailable, "secrets are not configured on this server (it has no secret key)")
		}
		if err := validSecretValue(in.Value); err != nil {
			return err
		}
	} else if len(in.Value) > maxSecretValue || strings.ContainsRune(in.Value, 0) {
		return problemf(http.StatusUnprocessableEntity, "value: at most %d bytes, without NUL bytes", maxSecretValue)
	}
	e, err := s.releaseEnvironment(r)
	if err != nil {
		return err
	}
	user := principal(r.Context()).User
	created, err := s.store.SetEnvironmentVariable(r.Context(), s.keys, e.ID, name, in.Value, in.Secret, user)
	if err != nil {
		return err
	}
	s.audit(r, user, "environment.variable.set", projectOf(r), map[string]any{"environment": e.Name, "name": name, "secret": in.Secret})
	vs, err := s.store.EnvironmentVariables(r.Context(), e.ID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	for _, v := range vs {
		if v.Name == name {
			writeJSON(w, status, v)
			return nil
		}
	}
	return problemf(http.StatusConflict, "variable %s was deleted meanwhile", name)
}

func (s *Server) deleteEnvironmentVariable(w http.ResponseWriter, r *http.Request) error {
	e, err := s.releaseEnvironment(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := s.store.DeleteEnvironmentVariable(r.Context(), e.ID, name); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "environment.variable.deleted", projectOf(r), map[string]any{"environment": e.Name, "name": name})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
