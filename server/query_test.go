package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A typo'd filter must not return an unfiltered list that looks filtered:
// every route refuses query parameters it does not declare, naming them,
// and only after it has checked its caller.
func TestUnknownQueryParameters(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	ctx := context.Background()
	tests := []struct {
		name, path, token string
		status            int
		detail            []string
	}{
		{"typo'd run filter", "/api/v1/runs?statuss=failed", l.AdminToken, 400,
			[]string{"unknown query parameter statuss", "GET /api/v1/runs", "status"}},
		{"several unknown, sorted", "/api/v1/agents?zz=1&labels=linux&limit=5", l.AdminToken, 400,
			[]string{"unknown query parameter labels, zz"}},
		{"route without parameters", "/api/v1/users/me?verbose=1", l.AdminToken, 400,
			[]string{"verbose", "takes no query parameters"}},
		{"project route", "/api/v1/projects/ghost/runs?branh=main", l.AdminToken, 404,
			[]string{"project ghost"}},
		{"caller checked first", "/api/v1/agents?bogus=1", "", 401,
			[]string{"missing bearer token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := l.ClientAs(t, tt.token).Request(ctx, http.MethodGet, tt.path, nil, nil)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s succeeded, want %d", tt.path, tt.status)
			}
			ce := err.(*client.Error)
			if ce.Status != tt.status {
				t.Fatalf("GET %s: %d %s, want %d", tt.path, ce.Status, ce.Detail, tt.status)
			}
			for _, d := range tt.detail {
				if !strings.Contains(ce.Detail, d) {
					t.Errorf("GET %s: detail %q does not say %q", tt.path, ce.Detail, d)
				}
			}
		})
	}
	// Declared parameters still work, on list routes and elsewhere.
	for _, path := range []string{"/api/v1/runs?status=failed&limit=5", "/api/v1/agents?online=true&label=linux", "/api/v1/events?type=run.canceled"} {
		var out map[string]any
		l.Do(t, http.MethodGet, path, nil, &out)
	}
}
