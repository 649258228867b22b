package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// An admin lists the repositories a forge connection's account sees, asked
// of the forge with the connection's sealed token; a failing forge is a
// 502 that says what the forge answered.
func TestForgeConnectionListsItsRepositories(t *testing.T) {
	var auth []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		if r.URL.Path != "/user/repos" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer repo-token-7" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("page") == "1" {
			w.Header().Set("Link", `<x?page=2>; rel="next"`)
		}
		fmt.Fprintf(w, `[{"full_name":"acme/r%s","clone_url":"https://github.com/acme/r%[1]s.git","html_url":"https://github.com/acme/r%[1]s","private":false,"default_branch":"main"}]`,
			r.URL.Query().Get("page"))
	}))
	defer fake.Close()
	l := lathetest.Start(t, lathetest.Options{Agents: -1, OutboundAllow: allowLoopback(t)})
	l.Do(t, http.MethodPost, "/api/v1/forges", map[string]string{"name": "gh", "kind": "github", "url": "https://github.com",
		"api_url": fake.URL, "token": "repo-token-7"}, nil)

	type page struct {
		Items []struct {
			FullName string `json:"full_name"`
			CloneURL string `json:"clone_url"`
		} `json:"items"`
		NextPage *int `json:"next_page"`
	}
	var p1, p2 page
	l.Do(t, http.MethodGet, "/api/v1/forges/gh/repositories", nil, &p1)
	if len(p1.Items) != 1 || p1.Items[0].FullName != "acme/r1" || p1.Items[0].CloneURL != "https://github.com/acme/r1.git" ||
		p1.NextPage == nil || *p1.NextPage != 2 {
		t.Errorf("page 1: %+v", p1)
	}
	l.Do(t, http.MethodGet, "/api/v1/forges/gh/repositories?page=2", nil, &p2)
	if len(p2.Items) != 1 || p2.Items[0].FullName != "acme/r2" || p2.NextPage != nil {
		t.Errorf("page 2: %+v", p2)
	}

	// A token the forge refuses: 502 with the forge's answer.
	l.Do(t, http.MethodPatch, "/api/v1/forges/gh", map[string]string{"token": "stale"}, nil)
	err := l.Client.Do(t.Context(), http.MethodGet, "/api/v1/forges/gh/repositories", nil, nil)
	if client.StatusOf(err) != http.StatusBadGateway || !strings.Contains(err.Error(), "401") {
		t.Errorf("with a refused token: %v, want 502 naming the forge's 401", err)
	}
	for _, a := range auth {
		if a != "Bearer repo-token-7" && a != "Bearer stale" {
			t.Errorf("the forge was asked with %q", a)
		}
	}
	if err := l.Client.Do(t.Context(), http.MethodGet, "/api/v1/forges/nope/repositories", nil, nil); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("unknown forge: %v, want 404", err)
	}
}
