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
	body, _, found, err := ask(ctx, c, r.Kind, r.APIURL, r.Token, path, maxAnswer)
	if !found || err != nil {
		return found, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, fmt.Errorf("%s's answer to GET %s: %v", r.Kind, path, err)
	}
	return true, nil
}

// ask GETs path of the API of a forge of kind k at base with a
// connection's token, and returns at most limit bytes of the answer and
// its headers; found is false for a 404, and any status but 200 and 404
// is an error naming it.
func ask(ctx context.Context, c *http.Client, k Kind, base, token, path string, limit int64) (body []byte, header http.Header, found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return nil, nil, false, err
	}
	Authorize(req, k, token)
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, false, fmt.Errorf("ask %s: %w", k, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, limit))
	switch {
	case err != nil:
		return nil, nil, false, fmt.Errorf("read %s's answer: %w", k, err)
	case resp.StatusCode == http.StatusNotFound:
		return nil, resp.Header, false, nil
	case resp.StatusCode != http.StatusOK:
		return nil, nil, false, fmt.Errorf("%s answered GET %s with %s", k, req.URL.Path, resp.Status)
	}
	return body, resp.Header, true, nil
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
