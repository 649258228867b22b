package api

import (
	"errors"
	"net/http"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/auth"
	"github.com/lathe-ci/lathe/store"
)

// sessionTTL is how long a login lasts.
const sessionTTL = 7 * 24 * time.Hour

type loginInput struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// session is the answer to a login: the session (with its secret, once) and the user.
type session struct {
	Session *lathe.APIToken `json:"session"`
	User    *lathe.User     `json:"user"`
}

// dummyHash is checked against when the user does not exist, so a login
// takes as long for an unknown name as for a wrong password. It is made on
// the first login, not at start: argon2id takes 19 MiB and tens of
// milliseconds, which an idle server (or a CLI importing this package)
// should not pay.
var dummyHash = sync.OnceValue(func() string { return auth.HashPassword("not a password anyone has") })

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if err := s.tooMany(w, r, s.logins, "login attempts"); err != nil {
		return err
	}
	s.logins.take(s.clientIP(r))
	var in loginInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, hash, err := s.store.UserWithPassword(r.Context(), in.Username)
	if err != nil && !errors.Is(err, lathe.ErrNotFound) {
		return err
	}
	// Every kind of account costs the same hashing work: an unknown name,
	// a service account or a user without a password is checked against a
	// dummy hash, so the answer's timing tells nothing about the account.
	canLogIn := u != nil && hash != ""
	if !canLogIn {
		hash = dummyHash()
	}
	ok, err := s.hasher.Check(r.Context(), hash, in.Password)
	if err != nil {
		return err
	}
	if !canLogIn || !ok {
		slogFrom(r).Info("login failed", "user", in.Username, "client", s.clientIP(r))
		return problemf(http.StatusUnauthorized, "wrong username or password")
	}
	if u.Disabled {
		return problemf(http.StatusForbidden, "user %s is disabled", u.Name)
	}
	expires := time.Now().Add(sessionTTL).UTC().Truncate(time.Second)
	token, hashed := auth.NewToken(auth.PrefixSession)
	k := &lathe.APIToken{Name: "login from " + s.clientIP(r), User: u.Name, Kind: store.KindSession, ExpiresAt: &expires,
		Scopes: []lathe.Scope{lathe.ScopeRead, lathe.ScopeWrite, lathe.ScopeAdmin}}
	if err := s.store.CreateToken(r.Context(), k, hashed); err != nil {
		return err
	}
	k.Token = token
	s.audit(r, u.Name, "login", nil, map[string]any{"client": s.clientIP(r)})
	// SameSite=Lax keeps the cookie off cross-site POSTs (CSRF); HttpOnly
	// keeps it from scripts.
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	writeJSON(w, http.StatusCreated, session{Session: k, User: u})
	return nil
}

func (s *Server) currentSession(w http.ResponseWriter, r *http.Request) error {
	p := principal(r.Context())
	u, err := s.store.User(r.Context(), p.User)
	return respond(w, http.StatusOK, session{Session: p.Token, User: u}, err)
}

// logout revokes the credential the request came with (a session or a token).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	p := principal(r.Context())
	if err := s.store.DeleteToken(r.Context(), p.User, p.Token.ID); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
