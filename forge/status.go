package forge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// State is a commit status as Lathe reports it, whatever the forge. No
// forge has "waiting" (for an approval in Lathe): they get pending, with a
// description saying what the run waits for. GitHub and Gitea have no
// "running" either: they get pending, with a description saying the run is
// running. GitLab gets its own words (failed; canceled for error).
type State string

// The states of a commit status.
const (
	StatePending State = "pending"
	StateWaiting State = "waiting"
	StateRunning State = "running"
	StateSuccess State = "success"
	StateFailure State = "failure"
	// StateError is a run that did not finish by itself: canceled.
	StateError State = "error"
)

// Status is one commit status: the state of one context (lathe/<pipeline>)
// at one commit, with a link to the run and a line saying what it is.
type Status struct {
	SHA         string
	State       State
	Context     string
	TargetURL   string
	Description string
}

// Request is an HTTP request to a forge's API.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// apiRoot is the repository's API base with the version path the kind's
// API lives under (Gitea's /api/v1, GitLab's /api/v4) added when the
// configured URL is the forge's own base URL.
func apiRoot(r *Repo) string {
	base := strings.TrimRight(r.APIURL, "/")
	switch r.Kind {
	case Gitea:
		if !strings.HasSuffix(base, "/api/v1") {
			base += "/api/v1"
		}
	case GitLab:
		if !strings.HasSuffix(base, "/api/v4") {
			base += "/api/v4"
		}
	}
	return base
}

// StatusRequest is the request that sets st on repo's commit: GitHub's
// POST /repos/{owner}/{repo}/statuses/{sha} (Authorization: Bearer),
// Gitea's, Forgejo's and Gogs' POST /api/v1/repos/{owner}/{repo}/statuses/{sha}
// (Authorization: token), GitLab's POST /api/v4/projects/{owner%2Frepo}/statuses/{sha}
// (PRIVATE-TOKEN).
func StatusRequest(r *Repo, st Status) (Request, error) {
	if r.Owner == "" || r.Name == "" {
		return Request{}, fmt.Errorf("repository %q/%q: want an owner and a name", r.Owner, r.Name)
	}
	if !hexSHA(st.SHA) {
		return Request{}, fmt.Errorf("commit %q: want a hexadecimal commit ID", st.SHA)
	}
	if u, err := url.Parse(r.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Request{}, fmt.Errorf("forge API URL %q: want an absolute http or https URL", r.APIURL)
	}
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	var path string
	var body any
	switch r.Kind {
	case GitHub, Gitea:
		path = "/repos/" + url.PathEscape(r.Owner) + "/" + url.PathEscape(r.Name) + "/statuses/" + st.SHA
		state, desc := st.State, st.Description
		if state == StateRunning || state == StateWaiting {
			state = StatePending
		}
		body = struct {
			State       State  `json:"state"`
			TargetURL   string `json:"target_url,omitempty"`
			Description string `json:"description,omitempty"`
			Context     string `json:"context"`
		}{state, st.TargetURL, clip(desc, 140), st.Context}
		if r.Kind == GitHub {
			h.Set("Authorization", "Bearer "+r.Token)
			h.Set("Accept", "application/vnd.github+json")
			h.Set("X-GitHub-Api-Version", "2022-11-28")
		} else {
			h.Set("Authorization", "token "+r.Token)
		}
	case GitLab:
		path = "/projects/" + url.PathEscape(r.Owner+"/"+r.Name) + "/statuses/" + st.SHA
		body = struct {
			State       string `json:"state"`
			Name        string `json:"name"`
			TargetURL   string `json:"target_url,omitempty"`
			Description string `json:"description,omitempty"`
		}{gitlabState(st.State), st.Context, st.TargetURL, clip(st.Description, 255)}
		h.Set("PRIVATE-TOKEN", r.Token)
	default:
		return Request{}, fmt.Errorf("forge kind %q: no status API", r.Kind)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return Request{}, err
	}
	return Request{Method: http.MethodPost, URL: apiRoot(r) + path, Header: h, Body: b}, nil
}

// gitlabState is GitLab's word for s.
func gitlabState(s State) string {
	switch s {
	case StateFailure:
		return "failed"
	case StateError:
		return "canceled"
	case StateWaiting:
		return string(StatePending)
	}
	return string(s)
}

func hexSHA(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// clip shortens s to at most n bytes, on a character boundary (GitHub
// refuses descriptions over 140 characters).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
