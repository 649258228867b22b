package api

import (
	"net/http"
	"net/mail"

	lathe "github.com/lathe-ci/lathe"
)

// What admins change about other users beyond their flags (Kraken's user
// details): name, email, and a password reset.

// maxEmail is the longest address RFC 5321 allows.
const maxEmail = 254

// applyIdentity checks and copies a new name and email into u, noting
// each change in the audit details.
func (in userUpdate) applyIdentity(u *lathe.User, details map[string]any) error {
	if in.Name != nil && *in.Name != u.Name {
		if !validUserName(*in.Name) {
			return problemf(http.StatusBadRequest, "name: %q must be 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit, and not all digits", *in.Name)
		}
		details["old_name"], details["user"] = u.Name, *in.Name
		u.Name = *in.Name
	}
	if in.Email != nil && *in.Email != u.Email {
		if err := checkEmail(*in.Email); err != nil {
			return err
		}
		details["email"] = *in.Email
		u.Email = *in.Email
	}
	return nil
}

func validUserName(name string) bool {
	return projectName().MatchString(name) && !allDigits().MatchString(name)
}

// checkEmail accepts "" (no address) or one bare address, such as
// ann@example.com (no display name, no angle brackets).
func checkEmail(email string) error {
	if email == "" {
		return nil
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > maxEmail {
		return problemf(http.StatusBadRequest, "email: %q is not an address such as ann@example.com (at most %d characters)", email, maxEmail)
	}
	return nil
}

// passwordReset is the body of an admin's password reset.
type passwordReset struct {
	Password string `json:"password"`
	// RevokeTokens also revokes the user's API tokens; its login sessions
	// end either way.
	RevokeTokens bool `json:"revoke_tokens"`
}

// resetPassword sets another user's password without the current one
// (admins only): every login session of the user ends at once, and with
// revoke_tokens its API tokens too.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var in passwordReset
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, err := s.users().of(r)
	if err != nil {
		return err
	}
	if u.Service {
		return problemf(http.StatusConflict, "%s is a service account: it has no password; create a token for it instead", u.Name)
	}
	if err := checkPassword(in.Password); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(r.Context(), in.Password)
	if err != nil {
		return err
	}
	// keepToken 0: no session survives, not even the admin's own when
	// the admin resets its own password this way.
	if err := s.store.SetPassword(r.Context(), u.ID, hash, 0, in.RevokeTokens); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "user.password_reset", nil, map[string]any{"user": u.Name, "revoke_tokens": in.RevokeTokens})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
