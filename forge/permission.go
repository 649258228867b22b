package forge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// HasWrite asks the forge whether user may write to the repository:
// GitHub's and Gitea's collaborator permission (admin, maintain, write or
// owner), GitLab's member access level (developer, 30, or more). A user
// the forge does not know or who is no member has no write; an answer the
// forge cannot give is an error.
func HasWrite(ctx context.Context, c *http.Client, r *Repo, user string) (bool, error) {
	if user == "" {
		return false, nil
	}
	o, n, u := url.PathEscape(r.Owner), url.PathEscape(r.Name), url.PathEscape(user)
	switch r.Kind {
	case GitHub, Gitea:
		var perm struct {
			Permission string `json:"permission"`
		}
		found, err := getJSON(ctx, c, r, "/repos/"+o+"/"+n+"/collaborators/"+u+"/permission", &perm)
		if !found || err != nil {
			return false, err
		}
		switch perm.Permission {
		case "admin", "maintain", "write", "owner":
			return true, nil
		}
		return false, nil
	case GitLab:
		var users []struct {
			ID int64 `json:"id"`
		}
		found, err := getJSON(ctx, c, r, "/users?username="+url.QueryEscape(user), &users)
		if !found || err != nil || len(users) == 0 {
			return false, err
		}
		var member struct {
			AccessLevel int `json:"access_level"`
		}
		project := url.PathEscape(r.Owner + "/" + r.Name)
		found, err = getJSON(ctx, c, r, fmt.Sprintf("/projects/%s/members/all/%d", project, users[0].ID), &member)
		if !found || err != nil {
			return false, err
		}
		return member.AccessLevel >= 30, nil
	}
	return false, fmt.Errorf("forge kind %q has no permission API", r.Kind)
}

// maxAnswer bounds what Lathe reads of a forge's answer.
const maxAnswer = 1 << 20

// getJSON GETs path of the forge's API with the connection's token and
// decodes the answer; found is false for a 404.
func getJSON(ctx context.Context, c *http.Client, r *Repo, path string, v any) (found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(r.APIURL, "/")+path, nil)
	if err != nil {
		return false, err
	}
	Authorize(req, r.Kind, r.Token)
	resp, err := c.Do(req)
	if err != nil {
		return false, fmt.Errorf("ask %s: %w", r.Kind, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	switch {
	case err != nil:
		return false, fmt.Errorf("read %s's answer: %w", r.Kind, err)
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	case resp.StatusCode != http.StatusOK:
		return false, fmt.Errorf("%s answered GET %s with %s", r.Kind, req.URL.Path, resp.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, fmt.Errorf("%s's answer to GET %s: %v", r.Kind, req.URL.Path, err)
	}
	return true, nil
}

// Authorize puts a connection's token on a request to its forge's API, as
// the forge expects it.
func Authorize(req *http.Request, k Kind, token string) {
	if token == "" {
		return
	}
	switch k {
	case GitHub:
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/vnd.github+json")
	case GitLab:
		req.Header.Set("PRIVATE-TOKEN", token)
	default:
		req.Header.Set("Authorization", "token "+token)
	}
}
