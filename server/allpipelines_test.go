package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// pipelineDirectoryDoc is a page of GET /api/v1/pipelines as a client reads it.
type pipelineDirectoryDoc struct {
	Items []struct {
		Project string `json:"project"`
		Name    string `json:"name"`
		Commit  string `json:"commit"`
		Jobs    []struct {
			Name string `json:"name"`
		} `json:"jobs"`
	} `json:"items"`
	Problems []struct {
		Project string `json:"project"`
		Detail  string `json:"detail"`
	} `json:"problems"`
	Next *int64 `json:"next"`
}

func (d pipelineDirectoryDoc) names() []string {
	var out []string
	for _, it := range d.Items {
		out = append(out, it.Project+"/"+it.Name)
	}
	return out
}

// The pipelines of every project the caller may read come in one list,
// paged by project; a project whose files are broken is named with why,
// and a private project stays out of the list of those who may not read it.
func TestPipelinesAcrossProjects(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	two := lathetest.Repo(t, map[string]string{
		".lathe/build.yml":  "jobs:\n  compile:\n    steps: [echo compile]\n",
		".lathe/deploy.yml": "jobs:\n  ship:\n    steps: [echo ship]\n",
	})
	one := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  test:\n    steps: [echo test]\n"})
	broken := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  test:\n    stepz: [echo test]\n"})
	l.Do(t, "POST", "/api/v1/projects", map[string]any{"name": "open", "url": one, "visibility": "public"}, nil)
	l.Project(t, "shop", two)
	l.Project(t, "wreck", broken)

	var all pipelineDirectoryDoc
	l.Do(t, http.MethodGet, "/api/v1/pipelines", nil, &all)
	got := all.names()
	slices.Sort(got)
	if want := []string{"open/main", "shop/build", "shop/deploy"}; !slices.Equal(got, want) {
		t.Errorf("admin's pipelines: %v, want %v", got, want)
	}
	if len(all.Problems) != 1 || all.Problems[0].Project != "wreck" || !strings.Contains(all.Problems[0].Detail, "stepz") {
		t.Errorf("problems: %+v, want wreck's unknown field stepz", all.Problems)
	}
	if all.Next != nil {
		t.Errorf("one page holds all three projects, but next = %d", *all.Next)
	}
	for _, it := range all.Items {
		if len(it.Commit) != 40 || len(it.Jobs) != 1 {
			t.Errorf("%s/%s: commit %q, jobs %+v", it.Project, it.Name, it.Commit, it.Jobs)
		}
	}

	// Paged by project, newest first: no project's pipelines are split.
	var seen []string
	path := "/api/v1/pipelines?limit=1"
	for range 5 {
		var page pipelineDirectoryDoc
		l.Do(t, http.MethodGet, path, nil, &page)
		names := page.names()
		for _, p := range page.Problems {
			names = append(names, p.Project+"!")
		}
		projects := map[string]bool{}
		for _, n := range names {
			projects[strings.TrimSuffix(strings.Split(n, "/")[0], "!")] = true
		}
		if len(projects) != 1 {
			t.Errorf("page %s holds projects %v, want one", path, names)
		}
		seen = append(seen, names...)
		if page.Next == nil {
			break
		}
		path = fmt.Sprintf("/api/v1/pipelines?limit=1&before=%d", *page.Next)
	}
	if want := []string{"wreck!", "shop/build", "shop/deploy", "open/main"}; !slices.Equal(seen, want) {
		t.Errorf("pages: %v, want %v", seen, want)
	}

	// Once Lathe has seen the default branch's head (a run of it), the
	// list reads the pipelines there, without asking the remote: a commit
	// pushed since shows once Lathe sees it.
	last := l.Trigger(t, "open", "", "")
	lathetest.Commit(t, one, map[string]string{".lathe.yml": "jobs:\n  test:\n    steps: [echo test]\n  extra:\n    steps: [echo extra]\n"})
	var after pipelineDirectoryDoc
	l.Do(t, http.MethodGet, "/api/v1/pipelines", nil, &after)
	found := 0
	for _, it := range after.Items {
		if it.Project == "open" {
			found++
			if it.Commit != last.Commit || len(it.Jobs) != 1 {
				t.Errorf("open/%s at %s with %d jobs, want the last seen head %s with 1", it.Name, it.Commit, len(it.Jobs), last.Commit)
			}
		}
	}
	if found != 1 {
		t.Errorf("open's pipelines listed %d times, want once", found)
	}

	// A user with no role sees the public project only; so does anyone.
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "stranger", "password": "pw-stranger-123"}, nil)
	for who, token := range map[string]string{"stranger": login(t, l, "stranger", "pw-stranger-123"), "anonymous": ""} {
		var page pipelineDirectoryDoc
		if err := l.ClientAs(t, token).Do(t.Context(), http.MethodGet, "/api/v1/pipelines", nil, &page); err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		if got := page.names(); !slices.Equal(got, []string{"open/main"}) || len(page.Problems) != 0 {
			t.Errorf("%s sees %v and problems %+v, want open/main only", who, got, page.Problems)
		}
	}

	// Bad paging is refused with the parameter named.
	if _, err := l.Client.Request(t.Context(), http.MethodGet, "/api/v1/pipelines?limit=500", nil, nil); err == nil ||
		!strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "limit") {
		t.Errorf("limit=500: %v, want a 400 naming limit", err)
	}
}
