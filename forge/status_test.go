package forge_test

import (
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/forge"
)

// Each kind gets its own path, credential header and words for the state.
func TestStatusRequest(t *testing.T) {
	t.Parallel()
	sha := "0123456789abcdef0123456789abcdef01234567"
	st := forge.Status{SHA: sha, State: forge.StateRunning, Context: "lathe/ci", TargetURL: "https://ci.example/runs/7", Description: "running"}
	for _, c := range []struct {
		repo             forge.Repo
		url, header, val string
		body             string
	}{
		{forge.Repo{Kind: forge.GitHub, APIURL: "https://api.github.com", Token: "gh", Owner: "o", Name: "r"},
			"https://api.github.com/repos/o/r/statuses/" + sha, "Authorization", "Bearer gh",
			`{"state":"pending","target_url":"https://ci.example/runs/7","description":"running","context":"lathe/ci"}`},
		{forge.Repo{Kind: forge.Gitea, APIURL: "https://gitea.example/", Token: "gt", Owner: "o", Name: "r"},
			"https://gitea.example/api/v1/repos/o/r/statuses/" + sha, "Authorization", "token gt",
			`{"state":"pending","target_url":"https://ci.example/runs/7","description":"running","context":"lathe/ci"}`},
		{forge.Repo{Kind: forge.Gitea, APIURL: "https://gitea.example/api/v1", Token: "gt", Owner: "o", Name: "r"},
			"https://gitea.example/api/v1/repos/o/r/statuses/" + sha, "Authorization", "token gt", ""},
		{forge.Repo{Kind: forge.GitLab, APIURL: "https://gitlab.example", Token: "gl", Owner: "group/sub", Name: "r"},
			"https://gitlab.example/api/v4/projects/group%2Fsub%2Fr/statuses/" + sha, "Private-Token", "gl",
			`{"state":"running","name":"lathe/ci","target_url":"https://ci.example/runs/7","description":"running"}`},
	} {
		req, err := forge.StatusRequest(&c.repo, st)
		if err != nil {
			t.Fatalf("%s: %v", c.repo.Kind, err)
		}
		if req.Method != "POST" || req.URL != c.url || req.Header.Get(c.header) != c.val {
			t.Errorf("%s: %s %s %s=%q; want POST %s %s=%q", c.repo.Kind, req.Method, req.URL, c.header, req.Header.Get(c.header), c.url, c.header, c.val)
		}
		if c.body != "" && string(req.Body) != c.body {
			t.Errorf("%s: body %s; want %s", c.repo.Kind, req.Body, c.body)
		}
	}
	gl := &forge.Repo{Kind: forge.GitLab, APIURL: "https://gitlab.example/api/v4", Owner: "o", Name: "r"}
	for state, want := range map[forge.State]string{forge.StateFailure: `"failed"`, forge.StateError: `"canceled"`, forge.StateSuccess: `"success"`} {
		req, _ := forge.StatusRequest(gl, forge.Status{SHA: sha, State: state, Context: "lathe/ci"})
		if !strings.Contains(string(req.Body), `"state":`+want) {
			t.Errorf("GitLab %s: body %s; want state %s", state, req.Body, want)
		}
	}
	for _, bad := range []forge.Repo{
		{Kind: forge.GitHub, APIURL: "https://api.github.com", Owner: "o"},
		{Kind: forge.GitHub, APIURL: "ftp://x", Owner: "o", Name: "r"},
		{Kind: "svn", APIURL: "https://x", Owner: "o", Name: "r"},
	} {
		if _, err := forge.StatusRequest(&bad, st); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if _, err := forge.StatusRequest(gl, forge.Status{SHA: "main", State: forge.StatePending}); err == nil {
		t.Error("a ref for a commit: no error")
	}
}
