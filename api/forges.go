package api

import (
	"net/http"
	"net/url"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/forge"
)

// Forge connections (/api/v1/forges, admins only): a kind, the forge's web
// and API base URLs and a token that goes in and never comes out.

// forgeInput is the body of create and update; absent fields keep their
// value on update.
type forgeInput struct {
	Name   *string `json:"name"`
	Kind   *string `json:"kind"`
	URL    *string `json:"url"`
	APIURL *string `json:"api_url"`
	Token  *string `json:"token"`
}

// maxForgeToken bounds a forge token (GitHub's fine-grained tokens are ~100 characters).
const maxForgeToken = 4096

// apply checks the input and copies it into f; it returns the token to
// store, or nil to keep the stored one.
func (in forgeInput) apply(f *lathe.Forge) (*string, error) {
	oldKind, oldURL := f.Kind, f.URL
	if in.Name != nil {
		f.Name = *in.Name
	}
	if in.Kind != nil {
		f.Kind = *in.Kind
	}
	if in.URL != nil {
		f.URL = strings.TrimRight(strings.TrimSpace(*in.URL), "/")
	}
	switch {
	case in.APIURL != nil && *in.APIURL != "":
		f.APIURL = strings.TrimRight(strings.TrimSpace(*in.APIURL), "/")
	case in.APIURL != nil || f.APIURL == "" || f.Kind != oldKind || f.URL != oldURL:
		f.APIURL = defaultAPIURL(forge.Kind(f.Kind), f.URL)
	}
	if !projectName().MatchString(f.Name) || allDigits().MatchString(f.Name) {
		return nil, problemf(http.StatusBadRequest, "name: %q must be 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit, not all digits", f.Name)
	}
	if _, err := forge.ParseKind(f.Kind); err != nil {
		return nil, problemf(http.StatusBadRequest, "%v", strings.TrimSuffix(err.Error(), ": "+lathe.ErrInvalid.Error()))
	}
	if err := checkBaseURL("url", f.URL); err != nil {
		return nil, err
	}
	if err := checkBaseURL("api_url", f.APIURL); err != nil {
		return nil, err
	}
	if in.Token == nil {
		if f.ID == 0 {
			return nil, problemf(http.StatusBadRequest, "token: required: the token Lathe uses on the forge's API")
		}
		return nil, nil
	}
	t := strings.TrimSpace(*in.Token)
	switch {
	case t == "":
		return nil, problemf(http.StatusBadRequest, "token: must not be empty")
	case len(t) > maxForgeToken || strings.ContainsAny(t, " \t\r\n\x00"):
		return nil, problemf(http.StatusBadRequest, "token: must be at most %d characters without spaces or control characters", maxForgeToken)
	}
	return &t, nil
}

// defaultAPIURL is the API base URL of a forge at web base u: GitHub's
// for github.com (GitHub Enterprise serves it under /api/v3), GitLab's
// /api/v4, Gitea's /api/v1.
func defaultAPIURL(k forge.Kind, u string) string {
	switch k {
	case forge.GitHub:
		if pu, err := url.Parse(u); err == nil && strings.EqualFold(pu.Host, "github.com") {
			return "https://api.github.com"
		}
		return u + "/api/v3"
	case forge.GitLab:
		return u + "/api/v4"
	}
	return u + "/api/v1"
}

// checkBaseURL refuses a base URL that is not http(s) with a host.
func checkBaseURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return problemf(http.StatusBadRequest, "%s: %q must be an http(s) URL with a host and no credentials, query or fragment", field, raw)
	}
	return nil
}

func (s *Server) forgeKeys() error {
	if s.keys == nil {
		return problemf(http.StatusServiceUnavailable, "forge tokens are kept as secrets, and this server has no secret key")
	}
	return nil
}

// forgeByName is the forge connection the path names.
func (s *Server) forgeByName() keyed[string, *lathe.Forge] { return byName("forge", s.store.Forge) }

func (s *Server) createForge(w http.ResponseWriter, r *http.Request) error {
	var in forgeInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := s.forgeKeys(); err != nil {
		return err
	}
	f := &lathe.Forge{}
	token, err := in.apply(f)
	if err != nil {
		return err
	}
	if err := s.store.CreateForge(r.Context(), s.keys, f, *token); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "forge.created", nil, map[string]any{"forge_id": f.ID, "name": f.Name, "kind": f.Kind, "url": f.URL})
	w.Header().Set("Location", "/api/v1/forges/"+f.Name)
	writeJSON(w, http.StatusCreated, f)
	return nil
}

func (s *Server) listForges(w http.ResponseWriter, r *http.Request) error {
	items, err := s.store.Forges(r.Context())
	return respond(w, http.StatusOK, map[string]any{"items": items}, err)
}

func (s *Server) getForge(w http.ResponseWriter, r *http.Request) error {
	return s.forgeByName().serve(w, r)
}

func (s *Server) updateForge(w http.ResponseWriter, r *http.Request) error {
	var in forgeInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := s.forgeKeys(); err != nil {
		return err
	}
	return s.forgeByName().with(r, func(f *lathe.Forge) error {
		token, err := in.apply(f)
		if err != nil {
			return err
		}
		if err := s.store.UpdateForge(r.Context(), s.keys, f, token); err != nil {
			return err
		}
		s.audit(r, principal(r.Context()).User, "forge.updated", nil, map[string]any{"forge_id": f.ID, "name": f.Name,
			"kind": f.Kind, "url": f.URL, "api_url": f.APIURL, "token_changed": token != nil})
		writeJSON(w, http.StatusOK, f)
		return nil
	})
}

func (s *Server) deleteForge(w http.ResponseWriter, r *http.Request) error {
	return s.forgeByName().with(r, func(f *lathe.Forge) error {
		if err := s.store.DeleteForge(r.Context(), f.ID); err != nil {
			return err
		}
		s.audit(r, principal(r.Context()).User, "forge.deleted", nil, map[string]any{"forge_id": f.ID, "name": f.Name})
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
