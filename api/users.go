package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/auth"
)

type userCreate struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Admin    bool   `json:"admin"`
	// Service accounts have no password and act through tokens an admin creates.
	Service bool `json:"service"`
	// Email is the user's address (optional).
	Email string `json:"email"`
}

type userUpdate struct {
	Admin    *bool `json:"admin"`
	Disabled *bool `json:"disabled"`
	// Name renames the user; its sessions, tokens and roles stay (they
	// belong to its ID).
	Name *string `json:"name"`
	// Email sets the user's address ("" clears it).
	Email *string `json:"email"`
}

type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	// RevokeTokens also revokes the user's API tokens (other than the
	// credential asking); other login sessions end either way.
	RevokeTokens bool `json:"revoke_tokens"`
}

func checkPassword(pw string) error {
	if len(pw) < auth.MinPasswordLength {
		return problemf(http.StatusBadRequest, "password: must be at least %d characters", auth.MinPasswordLength)
	}
	if len(pw) > 1024 {
		return problemf(http.StatusBadRequest, "password: must be at most 1024 characters")
	}
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var in userCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if !projectName().MatchString(in.Name) || allDigits().MatchString(in.Name) {
		return problemf(http.StatusBadRequest, "name: %q must be 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit, and not all digits", in.Name)
	}
	if err := checkEmail(in.Email); err != nil {
		return err
	}
	hash := ""
	switch {
	case in.Service && in.Password != "":
		return problemf(http.StatusBadRequest, "password: service accounts have none; create a token for them instead")
	case !in.Service:
		if err := checkPassword(in.Password); err != nil {
			return err
		}
		var err error
		if hash, err = s.hasher.Hash(r.Context(), in.Password); err != nil {
			return err
		}
	}
	u := &lathe.User{Name: in.Name, Email: in.Email, Admin: in.Admin, Service: in.Service}
	if err := s.store.CreateUser(r.Context(), u, hash); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "user.created", nil, map[string]any{"user": u.Name, "admin": u.Admin, "service": u.Service})
	w.Header().Set("Location", "/api/v1/users/"+u.Name)
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := s.store.Users(r.Context(), before, limit)
	return respond(w, http.StatusOK, page, err)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	return s.users().serve(w, r)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	u, err := s.store.User(r.Context(), principal(r.Context()).User)
	return respond(w, http.StatusOK, u, err)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	var in userUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	return s.changeUser(w, r, in)
}

// disableUser disables a user: its sessions and tokens are revoked at
// once (enabling the user again brings none back). Users are not deleted,
// so what they did stays attributed.
func (s *Server) disableUser(w http.ResponseWriter, r *http.Request) error {
	yes := true
	return s.changeUser(w, r, userUpdate{Disabled: &yes})
}

func (s *Server) changeUser(w http.ResponseWriter, r *http.Request, in userUpdate) error {
	u, err := s.users().of(r)
	if err != nil {
		return err
	}
	if u.Name == principal(r.Context()).User && ((in.Admin != nil && !*in.Admin) || (in.Disabled != nil && *in.Disabled)) {
		return problemf(http.StatusConflict, "you cannot disable yourself or drop your own admin flag; ask another admin")
	}
	if in.Admin != nil {
		u.Admin = *in.Admin
	}
	if in.Disabled != nil {
		u.Disabled = *in.Disabled
	}
	details := map[string]any{"user": u.Name}
	if err := in.applyIdentity(u, details); err != nil {
		return err
	}
	if err := s.store.UpdateUser(r.Context(), u); err != nil {
		return err
	}
	details["admin"], details["disabled"] = u.Admin, u.Disabled
	s.audit(r, principal(r.Context()).User, "user.updated", nil, details)
	writeJSON(w, http.StatusOK, u)
	return nil
}

// changePassword sets the caller's password; other login sessions end,
// and with revoke_tokens the caller's other API tokens too.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in passwordChange
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p := principal(r.Context())
	u, hash, err := s.store.UserWithPassword(r.Context(), p.User)
	if err != nil {
		return err
	}
	if u.Service {
		return problemf(http.StatusConflict, "service accounts have no password")
	}
	if err := s.checkCurrentPassword(r, p, hash, in.CurrentPassword); err != nil {
		return err
	}
	if err := checkPassword(in.NewPassword); err != nil {
		return err
	}
	newHash, err := s.hasher.Hash(r.Context(), in.NewPassword)
	if err != nil {
		return err
	}
	if err := s.store.SetPassword(r.Context(), u.ID, newHash, p.Token.ID, in.RevokeTokens); err != nil {
		return err
	}
	s.audit(r, p.User, "password.changed", nil, map[string]any{"revoke_tokens": in.RevokeTokens})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkCurrentPassword checks the caller may set a new password: it knows
// the current one, or, for an account with none yet (the built-in admin),
// it holds an admin-scoped credential. Otherwise a read or write token of
// the admin could set a password and log in to an admin session.
func (s *Server) checkCurrentPassword(r *http.Request, p *Principal, hash, current string) error {
	if hash == "" {
		if !p.Admin {
			return problemf(http.StatusForbidden, "current_password: %s has no password yet; setting the first one needs a token with the admin scope", p.User)
		}
		return nil
	}
	ok, err := s.hasher.Check(r.Context(), hash, current)
	if err != nil {
		return err
	}
	if !ok {
		return problemf(http.StatusForbidden, "current_password: does not match")
	}
	return nil
}
