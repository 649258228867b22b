package api

import (
	"mime"
	"net/http"
	"net/url"
)

// checkCSRF guards a request authenticated by the session cookie, which a
// browser attaches to requests other sites make too. A state-changing one
// must come from a page of this server (its Origin names this host, or the
// browser says Sec-Fetch-Site: same-origin) and, when it has a body, send
// JSON: a cross-site form can send neither without a CORS preflight, which
// this server never grants. Bearer-token requests need none of this: no
// browser attaches a token on its own.
func checkCSRF(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host != r.Host {
			return problemf(http.StatusForbidden, "cross-site request refused: Origin %q is not this server (%s); a session cookie only works from the server's own pages (send a bearer token from other clients)", origin, r.Host)
		}
	} else if r.Header.Get("Sec-Fetch-Site") != "same-origin" {
		return problemf(http.StatusForbidden, "cross-site request refused: a %s with a session cookie needs an Origin header naming this server (send a bearer token from non-browser clients)", r.Method)
	}
	if r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return problemf(http.StatusUnsupportedMediaType, "Content-Type %q: a request with a session cookie must send application/json", r.Header.Get("Content-Type"))
	}
	return nil
}
