package api

import (
	"context"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/secret"
)

// Secrets of a project (/api/v1/projects/{project}/secrets) and global ones
// (/api/v1/secrets, Kraken's secrets) share these handlers: the scope is
// the project in the path, or none. No handler ever answers with a value,
// and no error message repeats one.

var secretName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`) })

// maxSecretValue bounds a value (a private key or a kubeconfig fits).
const maxSecretValue = 64 << 10

// secretInput is the body of create (name and value) and of put (value only).
type secretInput struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value"`
	// Kind is env or file (see lathe.SecretFile); absent: env for a new
	// secret, the stored kind on a replace.
	Kind string `json:"kind,omitempty"`
}

// secretList is the answer to a list: every secret of the scope, by name.
type secretList struct {
	Items []*lathe.Secret `json:"items"`
}

func validSecretName(name string) error {
	switch {
	case !secretName().MatchString(name) || len(name) > 128:
		return problemf(http.StatusBadRequest, "name: %q must be 1–128 upper-case letters, digits and '_', not starting with a digit ([A-Z_][A-Z0-9_]*)", name)
	case strings.HasPrefix(name, "LATHE_"):
		return problemf(http.StatusBadRequest, "name: %q: names starting with LATHE_ are Lathe's own job variables", name)
	}
	return nil
}

func validSecretValue(v string) error {
	switch {
	case utf8.RuneCountInString(v) < secret.MinLength:
		return problemf(http.StatusUnprocessableEntity, "value: too short to mask in logs: a secret needs at least %d characters", secret.MinLength)
	case len(v) > maxSecretValue:
		return problemf(http.StatusUnprocessableEntity, "value: %d bytes; at most %d", len(v), maxSecretValue)
	case strings.ContainsRune(v, 0):
		return problemf(http.StatusUnprocessableEntity, "value: must not contain a NUL byte (it goes into an environment variable)")
	}
	return nil
}

// secretScope is the project ID of the path's {project} (0 for the global scope).
func (s *Server) secretScope(r *http.Request) (int64, error) {
	if s.keys == nil {
		return 0, problemf(http.StatusServiceUnavailable, "secrets are not configured on this server (it has no secret key)")
	}
	if r.PathValue("project") == "" {
		return 0, nil
	}
	return projectOf(r).ID, nil
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) error {
	pid, err := s.secretScope(r)
	if err != nil {
		return err
	}
	items, err := s.store.Secrets(r.Context(), pid)
	return respond(w, http.StatusOK, secretList{Items: items}, err)
}

func (s *Server) getSecret(w http.ResponseWriter, r *http.Request) error {
	pid, err := s.secretScope(r)
	if err != nil {
		return err
	}
	return byName("name", func(ctx context.Context, name string) (*lathe.Secret, error) {
		return s.store.Secret(ctx, pid, name)
	}).serve(w, r)
}

func (s *Server) createSecret(w http.ResponseWriter, r *http.Request) error {
	var in secretInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	return s.storeSecret(w, r, in.Name, in, false)
}

func (s *Server) putSecret(w http.ResponseWriter, r *http.Request) error {
	var in secretInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Name != "" && in.Name != r.PathValue("name") {
		return problemf(http.StatusBadRequest, "name: %q differs from the name in the path; omit it", in.Name)
	}
	return s.storeSecret(w, r, r.PathValue("name"), in, true)
}

// storeSecret validates and stores a value of a kind; replace allows overwriting.
func (s *Server) storeSecret(w http.ResponseWriter, r *http.Request, name string, in secretInput, replace bool) error {
	if err := validSecretName(name); err != nil {
		return err
	}
	if err := validSecretValue(in.Value); err != nil {
		return err
	}
	if in.Kind != "" && in.Kind != lathe.SecretEnv && in.Kind != lathe.SecretFile {
		return problemf(http.StatusBadRequest, "kind: %q must be env (the value in the variable) or file (the value in a private file, its path in the variable)", in.Kind)
	}
	pid, err := s.secretScope(r)
	if err != nil {
		return err
	}
	by := principal(r.Context()).User
	sec, created, err := s.store.PutSecret(r.Context(), s.keys, pid, name, in.Value, in.Kind, by, replace)
	if err != nil {
		return err
	}
	slogFrom(r).Info("secret stored", "project", sec.Project, "secret", name, "kind", sec.Kind, "by", by, "created", created)
	s.audit(r, by, "secret.changed", principal(r.Context()).Project, map[string]any{"secret": name, "kind": sec.Kind, "created": created})
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", strings.TrimSuffix(r.URL.Path, "/"+name)+"/"+name)
	}
	writeJSON(w, status, sec)
	return nil
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	pid, err := s.secretScope(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteSecret(r.Context(), pid, r.PathValue("name")); err != nil {
		return err
	}
	slogFrom(r).Info("secret deleted", "project", r.PathValue("project"), "secret", r.PathValue("name"), "by", principal(r.Context()).User)
	s.audit(r, principal(r.Context()).User, "secret.deleted", principal(r.Context()).Project, map[string]any{"secret": r.PathValue("name")})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// patchSecret changes who may have a secret (lathe.SecretRules): its
// branch and event limits, and for a global secret the projects it is
// granted to. The value is left as it is.
func (s *Server) patchSecret(w http.ResponseWriter, r *http.Request) error {
	var in lathe.SecretRules
	if err := decode(w, r, &in); err != nil {
		return err
	}
	pid, err := s.secretScope(r)
	if err == nil {
		err = validSecretRules(in, pid == 0)
	}
	if err != nil {
		return err
	}
	by := principal(r.Context()).User
	name := r.PathValue("name")
	sec, err := s.store.SetSecretRules(r.Context(), pid, name, in, by)
	if err != nil {
		return err
	}
	slogFrom(r).Info("secret rules changed", "project", sec.Project, "secret", name, "by", by)
	s.audit(r, by, "secret.rules_changed", principal(r.Context()).Project,
		map[string]any{"secret": name, "branches": sec.Branches, "events": sec.Events, "projects": sec.Projects})
	writeJSON(w, http.StatusOK, sec)
	return nil
}

// maxSecretRules bounds each list of a secret's rules.
const maxSecretRules = 100

func validSecretRules(in lathe.SecretRules, global bool) error {
	if in.Branches == nil && in.Events == nil && in.Projects == nil {
		return problemf(http.StatusBadRequest, "give at least one of branches, events or projects")
	}
	for field, list := range map[string]*[]string{"branches": in.Branches, "events": in.Events, "projects": in.Projects} {
		if list != nil && len(*list) > maxSecretRules {
			return problemf(http.StatusBadRequest, "%s: %d entries; at most %d", field, len(*list), maxSecretRules)
		}
	}
	if in.Projects != nil && !global {
		return problemf(http.StatusBadRequest, "projects: only a global secret is granted to projects; this one belongs to a project")
	}
	if in.Branches != nil {
		for _, b := range *in.Branches {
			if _, err := path.Match(b, ""); err != nil || b == "" {
				return problemf(http.StatusBadRequest, "branches: %q is not a branch name or pattern (such as main or release/*)", b)
			}
		}
	}
	if in.Events != nil {
		kinds := pipeline.EventKinds()
		for _, e := range *in.Events {
			if !slices.Contains(kinds, e) {
				return problemf(http.StatusBadRequest, "events: %q is not an event; use %s", e, strings.Join(kinds, ", "))
			}
		}
	}
	return nil
}
