package forge_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/forge"
)

// Each kind of forge is asked its own repository list with the token, and
// its way of saying there is a next page is read.
func TestRepositoriesPageThroughEachForge(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	// GitHub and Gitea: a Link header with rel="next" until the last page.
	mux.HandleFunc("GET /gh/user/repos", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer ghtok" && r.Header.Get("Authorization") != "token gttok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		page := r.URL.Query().Get("page")
		if page == "1" {
			w.Header().Set("Link", `<http://x/user/repos?page=2>; rel="next", <http://x/user/repos?page=2>; rel="last"`)
		} else {
			w.Header().Set("Link", `<http://x/user/repos?page=1>; rel="prev", <http://x/user/repos?page=1>; rel="first"`)
		}
		fmt.Fprintf(w, `[{"full_name":"acme/p%s","clone_url":"https://gh/acme/p%s.git","html_url":"https://gh/acme/p%s","private":true,"default_branch":"main","id":7}]`,
			page, page, page)
	})
	// GitLab: X-Next-Page, empty on the last page.
	mux.HandleFunc("GET /gl/projects", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("PRIVATE-TOKEN") != "gltok" || r.URL.Query().Get("membership") != "true" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		page := r.URL.Query().Get("page")
		next := map[string]string{"1": "2"}[page]
		w.Header().Set("X-Next-Page", next)
		fmt.Fprintf(w, `[{"path_with_namespace":"grp/sub/p%s","http_url_to_repo":"https://gl/grp/sub/p%s.git","web_url":"https://gl/grp/sub/p%s","visibility":"public","default_branch":"trunk"}]`,
			page, page, page)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := &http.Client{Timeout: 10 * time.Second}
	ctx := t.Context()

	for _, tc := range []struct {
		kind        forge.Kind
		api, token  string
		first, last forge.RemoteRepo
	}{
		{forge.GitHub, srv.URL + "/gh", "ghtok",
			forge.RemoteRepo{FullName: "acme/p1", CloneURL: "https://gh/acme/p1.git", WebURL: "https://gh/acme/p1", Private: true, DefaultBranch: "main"},
			forge.RemoteRepo{FullName: "acme/p2", CloneURL: "https://gh/acme/p2.git", WebURL: "https://gh/acme/p2", Private: true, DefaultBranch: "main"}},
		{forge.Gitea, srv.URL + "/gh/", "gttok",
			forge.RemoteRepo{FullName: "acme/p1", CloneURL: "https://gh/acme/p1.git", WebURL: "https://gh/acme/p1", Private: true, DefaultBranch: "main"},
			forge.RemoteRepo{FullName: "acme/p2", CloneURL: "https://gh/acme/p2.git", WebURL: "https://gh/acme/p2", Private: true, DefaultBranch: "main"}},
		{forge.GitLab, srv.URL + "/gl", "gltok",
			forge.RemoteRepo{FullName: "grp/sub/p1", CloneURL: "https://gl/grp/sub/p1.git", WebURL: "https://gl/grp/sub/p1", DefaultBranch: "trunk"},
			forge.RemoteRepo{FullName: "grp/sub/p2", CloneURL: "https://gl/grp/sub/p2.git", WebURL: "https://gl/grp/sub/p2", DefaultBranch: "trunk"}},
	} {
		repos, next, err := forge.Repositories(ctx, c, tc.kind, tc.api, tc.token, 1)
		if err != nil || next != 2 || !reflect.DeepEqual(repos, []forge.RemoteRepo{tc.first}) {
			t.Errorf("%s page 1: %+v next %d, %v", tc.kind, repos, next, err)
		}
		repos, next, err = forge.Repositories(ctx, c, tc.kind, tc.api, tc.token, 2)
		if err != nil || next != 0 || !reflect.DeepEqual(repos, []forge.RemoteRepo{tc.last}) {
			t.Errorf("%s page 2: %+v next %d, %v", tc.kind, repos, next, err)
		}
	}

	// A refused token is an error naming the forge's answer.
	if _, _, err := forge.Repositories(ctx, c, forge.GitHub, srv.URL+"/gh", "wrong", 1); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a refused token: %v, want an error with 401", err)
	}
	if _, _, err := forge.Repositories(ctx, c, forge.GitHub, srv.URL+"/gh", "ghtok", 0); err == nil {
		t.Error("page 0 was asked for")
	}
}
