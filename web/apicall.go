package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// sessionCookie is the API's login cookie (api.SessionCookie; a test
// checks they agree): the UI reads it, the API sets and checks it.
const sessionCookie = "lathe_session"

// Error is an answer a page cannot give normally: the API's refusal (its
// status and detail, as problem+json said them) or the UI's own.
type Error struct {
	Status int
	Title  string
	Detail string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Title, e.Detail) }

// answer is the API's recorded response to an in-process call.
type answer struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (a *answer) Header() http.Header { return a.header }
func (a *answer) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}
func (a *answer) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}

// call sends method path (with query) to the API in process, as the user
// whose session cookie r carries (or anonymously), with body as JSON, and
// decodes a 2xx answer into out. Any other answer is an *Error with the
// API's status and detail. The API sees the browser's address (its rate
// limits and audit entries count the real client) and the session as a
// bearer credential: the UI checked the form's CSRF token itself.
func (h *Handler) call(r *http.Request, method, path string, body, out any) (http.Header, error) {
	token := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		token = c.Value
	}
	return h.callAs(r, token, method, path, body, out)
}

// callAs is call with an explicit credential ("" for none).
func (h *Handler) callAs(r *http.Request, token, method, path string, body, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, path, rd)
	if err != nil {
		return nil, err
	}
	req.Host, req.RemoteAddr, req.TLS = r.Host, r.RemoteAddr, r.TLS
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		req.Header["X-Forwarded-For"] = xff
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	a := &answer{header: http.Header{}}
	h.api.ServeHTTP(a, req)
	if a.status == 0 {
		a.status = http.StatusOK
	}
	if a.status/100 != 2 {
		e := &Error{Status: a.status, Title: http.StatusText(a.status)}
		var p struct{ Title, Detail string }
		if json.Unmarshal(a.body.Bytes(), &p) == nil && (p.Detail != "" || p.Title != "") {
			e.Title, e.Detail = p.Title, p.Detail
		}
		return a.header, e
	}
	if out != nil && a.status != http.StatusNoContent {
		if err := json.Unmarshal(a.body.Bytes(), out); err != nil {
			return a.header, fmt.Errorf("%s %s: decode the API's answer: %w", method, path, err)
		}
	}
	return a.header, nil
}

// apiPath joins an API path from parts, escaping each.
func apiPath(parts ...string) string {
	var b strings.Builder
	b.WriteString("/api/v1")
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(p))
	}
	return b.String()
}
