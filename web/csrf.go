package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
)

// Every form carries a CSRF token, checked before the form's action is
// sent to the API. Signed in, the token is an HMAC of the session secret:
// only the server and the browser holding the (HttpOnly) cookie can make
// it, every replica computes the same one, and it dies with the session.
// Signed out (the sign-in and first-start forms), it is a random value
// that must match a cookie of its own (double submit). Either way a
// request whose Origin names another site is refused first.

const (
	csrfCookie = "lathe_csrf"
	csrfField  = "csrf"
)

func sessionCSRF(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("lathe web form"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfToken is the token the forms of the page answering r carry; signed
// out, it sets the cookie it must match when there is none yet.
func csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		return sessionCSRF(c.Value)
	}
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	return v
}

// checkCSRF refuses a form post that did not come from a page of this
// server: a foreign Origin, or a token that is missing or wrong.
func checkCSRF(r *http.Request) error {
	if origin := r.Header.Get("Origin"); origin != "" && origin != "null" {
		if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
			return &Error{Status: http.StatusForbidden, Title: "Cross-site request refused",
				Detail: "This form was sent from " + origin + ", not from this server's pages."}
		}
	}
	want := ""
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		want = sessionCSRF(c.Value)
	} else if c, err := r.Cookie(csrfCookie); err == nil {
		want = c.Value
	}
	got := r.PostFormValue(csrfField)
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return &Error{Status: http.StatusForbidden, Title: "Form expired",
			Detail: "The form's security token is missing or does not match your session. Reload the page and try again."}
	}
	return nil
}
