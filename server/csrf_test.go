package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A request authenticated by the session cookie changes nothing unless it
// comes from the server's own pages (Origin) and sends JSON: a cross-site
// form posting text/plain is refused. Bearer tokens, which no browser
// attaches on its own, are unaffected, and reads need neither.
func TestCookieWritesNeedSameOriginAndJSON(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "ann", "password": "ann-password"}, nil)
	session := login(t, l, "ann", "ann-password")
	call := func(method, path, contentType, origin, body string, cookie bool) int {
		t.Helper()
		req, _ := http.NewRequest(method, l.URL+path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if cookie {
			req.AddCookie(&http.Cookie{Name: "lathe_session", Value: session})
		} else {
			req.Header.Set("Authorization", "Bearer "+session)
		}
		resp, err := lathetest.HTTPClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const evil, body = "https://evil.example", `{"name":"planted"}`
	for _, tc := range []struct {
		what                      string
		method, ctype, origin, in string
		cookie                    bool
		want                      int
	}{
		{"cross-site text/plain form post", "POST", "text/plain", evil, body, true, 403},
		{"cross-site JSON post", "POST", "application/json", evil, body, true, 403},
		{"cookie post without Origin", "POST", "application/json", "", body, true, 403},
		{"same-origin text/plain post", "POST", "text/plain", l.URL, body, true, 415},
		{"cross-site logout", "DELETE", "", evil, "", true, 403},
		{"same-origin JSON post", "POST", "application/json", l.URL, body, true, 201},
		{"cross-site read", "GET", "", evil, "", true, 200},
		{"bearer token, text/plain, no Origin", "POST", "text/plain", "", body, false, 201},
	} {
		path := "/api/v1/tokens"
		if tc.method == "DELETE" {
			path = "/api/v1/sessions/current"
		}
		if got := call(tc.method, path, tc.ctype, tc.origin, tc.in, tc.cookie); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.what, got, tc.want)
		}
	}
}
