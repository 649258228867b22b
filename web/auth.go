package web

import (
	"net/http"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// Signing in and out are the API's sessions: the UI posts the form's
// fields to POST /api/v1/sessions and passes on the HttpOnly cookie the
// API sets; signing out deletes the session there.

type loginData struct {
	Next     string
	Username string
	Error    *Error
}

// safeNext keeps a redirect after sign-in on this server (a path, never
// //host or a scheme).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || isAPI(next) {
		return "/"
	}
	return next
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, http.StatusOK, "login", "Sign in", h.viewer(r), loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	if err := checkCSRF(r); err != nil {
		return err
	}
	d := loginData{Next: safeNext(r.PostFormValue("next")), Username: r.PostFormValue("username")}
	hdr, err := h.callAs(r, "", http.MethodPost, "/api/v1/sessions",
		map[string]string{"username": d.Username, "password": r.PostFormValue("password")}, nil)
	if err != nil {
		e, ok := err.(*Error)
		if !ok {
			return err
		}
		d.Error = e
		return h.render(w, r, e.Status, "login", "Sign in", nil, d)
	}
	passCookies(w, hdr)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}

// passCookies hands the cookies the API set on to the browser.
func passCookies(w http.ResponseWriter, hdr http.Header) {
	for _, c := range hdr.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", c)
	}
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	if err := checkCSRF(r); err != nil {
		return err
	}
	hdr, err := h.call(r, http.MethodDelete, "/api/v1/sessions/current", nil, nil)
	if e, ok := err.(*Error); ok && e.Status == http.StatusUnauthorized {
		err = nil // already gone
	}
	if err != nil {
		return err
	}
	passCookies(w, hdr)
	clearSession(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

type setupData struct {
	Error *Error
}

// setupPage is where the first-start admin, holding the token `lathe up`
// printed, sets a password and signs in: a new user reaches the UI
// without curl.
func (h *Handler) setupPage(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, http.StatusOK, "setup", "Set the admin password", h.viewer(r), setupData{})
}

func (h *Handler) setup(w http.ResponseWriter, r *http.Request) error {
	if err := checkCSRF(r); err != nil {
		return err
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	password := r.PostFormValue("password")
	fail := func(e *Error) error {
		return h.render(w, r, e.Status, "setup", "Set the admin password", nil, setupData{Error: e})
	}
	if password != r.PostFormValue("confirm") {
		return fail(&Error{Status: http.StatusBadRequest, Title: "Passwords differ", Detail: "The two passwords are not the same."})
	}
	var u lathe.User
	steps := []func() error{
		func() error {
			if _, err := h.callAs(r, token, http.MethodGet, "/api/v1/users/me", nil, &u); err != nil {
				return err
			}
			if u.HasPassword {
				return &Error{Status: http.StatusConflict, Title: "The password is set already",
					Detail: u.Name + " has a password already: sign in with it, or have an admin set a new one (lathe user reset-password " + u.Name + ")."}
			}
			return nil
		},
		func() error {
			_, err := h.callAs(r, token, http.MethodPut, "/api/v1/users/me/password", map[string]string{"new_password": password}, nil)
			return err
		},
		func() error {
			hdr, err := h.callAs(r, "", http.MethodPost, "/api/v1/sessions", map[string]string{"username": u.Name, "password": password}, nil)
			passCookies(w, hdr)
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			if e, ok := err.(*Error); ok {
				return fail(e)
			}
			return err
		}
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
