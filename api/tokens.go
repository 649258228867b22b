package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/auth"
	"github.com/lathe-ci/lathe/store"
)

type tokenCreate struct {
	Name string `json:"name"`
	// Scopes default to read and write.
	Scopes []lathe.Scope `json:"scopes"`
	// ExpiresAt is optional; a token without one lasts until revoked.
	ExpiresAt *time.Time `json:"expires_at"`
}

type tokenList struct {
	Items []*lathe.APIToken `json:"items"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	return s.issueToken(w, r, principal(r.Context()).User)
}

// createUserToken is an admin creating a token for another user, as for a
// service account, which cannot log in.
func (s *Server) createUserToken(w http.ResponseWriter, r *http.Request) error {
	return s.issueToken(w, r, r.PathValue("user"))
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, owner string) error {
	var in tokenCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return problemf(http.StatusBadRequest, "name: required, at most 100 characters (what the token is for)")
	}
	switch {
	case in.Scopes == nil:
		in.Scopes = []lathe.Scope{lathe.ScopeRead, lathe.ScopeWrite}
	case len(in.Scopes) == 0:
		// An empty list reads as "no rights"; a token of read and write
		// instead would grant what the caller left out.
		return problemf(http.StatusBadRequest, "scopes: [] names no scope; name read, write or admin (leave scopes out for read and write)")
	}
	for _, sc := range in.Scopes {
		if sc.Rank() == 0 {
			return problemf(http.StatusBadRequest, "scopes: %q is not a scope (read, write or admin)", sc)
		}
	}
	slices.Sort(in.Scopes)
	in.Scopes = slices.Compact(in.Scopes)
	if in.ExpiresAt != nil && !in.ExpiresAt.After(time.Now()) {
		return problemf(http.StatusBadRequest, "expires_at: %s is in the past", in.ExpiresAt.Format(time.RFC3339))
	}
	u, err := s.store.User(r.Context(), owner)
	if err != nil {
		return err
	}
	// A token never exceeds its owner, nor the credential that creates it.
	k := &lathe.APIToken{Name: in.Name, User: u.Name, Kind: store.KindToken, Scopes: in.Scopes, ExpiresAt: in.ExpiresAt}
	p := principal(r.Context())
	if k.MaxScope() == lathe.ScopeAdmin && !u.Admin {
		return problemf(http.StatusForbidden, "scopes: admin: %s is not an admin", u.Name)
	}
	if k.MaxScope().Rank() > p.Token.MaxScope().Rank() {
		return problemf(http.StatusForbidden, "scopes: %s exceeds the scopes of the credential asking (%v)", k.MaxScope(), p.Token.Scopes)
	}
	prefix := auth.PrefixToken
	if u.Service {
		prefix = auth.PrefixService
	}
	token, hash := auth.NewToken(prefix)
	if err := s.store.CreateToken(r.Context(), k, hash); err != nil {
		return err
	}
	k.Token = token
	s.audit(r, p.User, "token.created", nil, map[string]any{"owner": u.Name, "token": k.Name, "token_id": k.ID, "scopes": k.Scopes})
	writeJSON(w, http.StatusCreated, k)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	return s.serveTokens(w, r, principal(r.Context()).User)
}

// listUserTokens is an admin listing another user's tokens and sessions,
// to find one to revoke.
func (s *Server) listUserTokens(w http.ResponseWriter, r *http.Request) error {
	return s.users().with(r, func(u *lathe.User) error { return s.serveTokens(w, r, u.Name) })
}

func (s *Server) serveTokens(w http.ResponseWriter, r *http.Request, owner string) error {
	items, err := s.store.Tokens(r.Context(), owner)
	return respond(w, http.StatusOK, tokenList{Items: items}, err)
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	return s.revokeToken(w, r, principal(r.Context()).User)
}

// deleteUserToken is an admin revoking another user's token or session.
func (s *Server) deleteUserToken(w http.ResponseWriter, r *http.Request) error {
	return s.revokeToken(w, r, r.PathValue("user"))
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, owner string) error {
	id, err := pathID(r, "token")
	if err != nil {
		return err
	}
	p := principal(r.Context())
	if err := s.store.DeleteToken(r.Context(), owner, id); err != nil {
		return err
	}
	s.audit(r, p.User, "token.revoked", nil, map[string]any{"owner": owner, "token_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
