package forge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// RemoteRepo is a repository a forge connection's account can see, as a
// project would name it (Project.Repo, Project.URL).
type RemoteRepo struct {
	// FullName is owner/name (GitLab: the path with its namespace).
	FullName      string `json:"full_name"`
	CloneURL      string `json:"clone_url"`
	WebURL        string `json:"web_url"`
	Private       bool   `json:"private"`
	DefaultBranch string `json:"default_branch"`
}

// ReposPerPage is how many repositories one page asks the forge for.
const ReposPerPage = 100

// Repositories lists one page (from 1) of the repositories the token's
// account may see on the forge at apiURL: GitHub's and Gitea's
// /user/repos, GitLab's /projects?membership=true. next is the following
// page, or 0 on the last one.
func Repositories(ctx context.Context, c *http.Client, k Kind, apiURL, token string, page int) (repos []RemoteRepo, next int, err error) {
	if page < 1 {
		return nil, 0, fmt.Errorf("page %d: pages count from 1", page)
	}
	var path string
	switch k {
	case GitHub:
		path = fmt.Sprintf("/user/repos?per_page=%d&page=%d&sort=full_name", ReposPerPage, page)
	case Gitea:
		path = fmt.Sprintf("/user/repos?limit=%d&page=%d", ReposPerPage, page)
	case GitLab:
		path = fmt.Sprintf("/projects?membership=true&order_by=path&sort=asc&per_page=%d&page=%d", ReposPerPage, page)
	default:
		return nil, 0, fmt.Errorf("forge kind %q has no repository list", k)
	}
	body, header, found, err := ask(ctx, c, k, apiURL, token, path, 8*maxAnswer)
	switch {
	case err != nil:
		return nil, 0, err
	case !found:
		return nil, 0, fmt.Errorf("%s answered GET %s with 404 Not Found", k, strings.SplitN(path, "?", 2)[0])
	}
	if k == GitLab {
		repos, err = gitlabRepos(body)
		if n, _ := strconv.Atoi(header.Get("X-Next-Page")); n > page {
			next = n
		}
	} else {
		repos, err = githubRepos(body)
		if hasNextLink(header.Get("Link")) {
			next = page + 1
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s's answer to GET %s: %v", k, strings.SplitN(path, "?", 2)[0], err)
	}
	return repos, next, nil
}

// githubRepos reads GitHub's (and Gitea's) repository list.
func githubRepos(body []byte) ([]RemoteRepo, error) {
	var in []struct {
		FullName      string `json:"full_name"`
		CloneURL      string `json:"clone_url"`
		HTMLURL       string `json:"html_url"`
		Private       bool   `json:"private"`
		DefaultBranch string `json:"default_branch"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	out := make([]RemoteRepo, len(in))
	for i, r := range in {
		out[i] = RemoteRepo{FullName: r.FullName, CloneURL: r.CloneURL, WebURL: r.HTMLURL, Private: r.Private, DefaultBranch: r.DefaultBranch}
	}
	return out, nil
}

// gitlabRepos reads GitLab's project list.
func gitlabRepos(body []byte) ([]RemoteRepo, error) {
	var in []struct {
		Path          string `json:"path_with_namespace"`
		CloneURL      string `json:"http_url_to_repo"`
		WebURL        string `json:"web_url"`
		Visibility    string `json:"visibility"`
		DefaultBranch string `json:"default_branch"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	out := make([]RemoteRepo, len(in))
	for i, r := range in {
		out[i] = RemoteRepo{FullName: r.Path, CloneURL: r.CloneURL, WebURL: r.WebURL, Private: r.Visibility != "public", DefaultBranch: r.DefaultBranch}
	}
	return out, nil
}

// hasNextLink reports whether an RFC 8288 Link header has a rel="next".
func hasNextLink(h string) bool {
	for _, link := range strings.Split(h, ",") {
		for _, param := range strings.Split(link, ";")[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(param), "rel="); ok && strings.Trim(v, `"`) == "next" {
				return true
			}
		}
	}
	return false
}
