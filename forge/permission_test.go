package forge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/forge"
)

// HasWrite asks each kind of forge its own question with the connection's
// token, and reads write access out of its answer.
func TestHasWriteAsksTheForge(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	var auth []string
	mux.HandleFunc("GET /gh/repos/acme/widget/collaborators/{user}/permission", func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		perm := map[string]string{"maintainer": "write", "reader": "read"}[r.PathValue("user")]
		if perm == "" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"permission":"` + perm + `","role_name":"x"}`))
	})
	mux.HandleFunc("GET /gl/users", func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("PRIVATE-TOKEN"))
		id := map[string]string{"dev": "5", "guest": "6"}[r.URL.Query().Get("username")]
		if id == "" {
			w.Write([]byte(`[]`))
			return
		}
		w.Write([]byte(`[{"id":` + id + `}]`))
	})
	mux.HandleFunc("GET /gl/projects/{project}/members/all/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("project") != "acme/widget" {
			http.NotFound(w, r)
			return
		}
		level := map[string]string{"5": "30", "6": "10"}[r.PathValue("id")]
		w.Write([]byte(`{"access_level":` + level + `}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := &http.Client{Timeout: 10 * time.Second}
	gh := &forge.Repo{Kind: forge.GitHub, APIURL: srv.URL + "/gh", Token: "ghtok", Owner: "acme", Name: "widget"}
	gt := &forge.Repo{Kind: forge.Gitea, APIURL: srv.URL + "/gh", Token: "gttok", Owner: "acme", Name: "widget"}
	gl := &forge.Repo{Kind: forge.GitLab, APIURL: srv.URL + "/gl", Token: "gltok", Owner: "acme", Name: "widget"}
	for _, c2 := range []struct {
		repo *forge.Repo
		user string
		want bool
	}{
		{gh, "maintainer", true}, {gh, "reader", false}, {gh, "nobody", false},
		{gt, "maintainer", true},
		{gl, "dev", true}, {gl, "guest", false}, {gl, "nobody", false},
	} {
		got, err := forge.HasWrite(context.Background(), c, c2.repo, c2.user)
		if err != nil || got != c2.want {
			t.Errorf("%s %s: %v, %v; want %v", c2.repo.Kind, c2.user, got, err, c2.want)
		}
	}
	if auth[0] != "Bearer ghtok" || auth[3] != "token gttok" || auth[4] != "gltok" {
		t.Errorf("tokens sent = %q", auth)
	}
	broken := &forge.Repo{Kind: forge.GitHub, APIURL: srv.URL + "/nothing-here/but", Owner: "a", Name: "b"}
	mux.HandleFunc("GET /nothing-here/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 502) })
	if _, err := forge.HasWrite(context.Background(), c, broken, "x"); err == nil {
		t.Error("a forge answering 502 gave no error")
	}
}
