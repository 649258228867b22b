package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/outbound"
)

// fakeForge is an HTTP server on 127.0.0.1 standing in for a forge's API:
// it records every request and answers code.
type fakeForge struct {
	*httptest.Server
	mu   sync.Mutex
	code int
	got  []forgeRequest
}

// forgeRequest is one request a fake forge received.
type forgeRequest struct {
	Method, Path, Auth string
	Body               map[string]any
}

func newFakeForge(t *testing.T, code int) *fakeForge {
	t.Helper()
	f := &fakeForge{code: code}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := forgeRequest{Method: r.Method, Path: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization")}
		if tok := r.Header.Get("PRIVATE-TOKEN"); tok != "" {
			req.Auth = "PRIVATE-TOKEN " + tok
		}
		if err := json.Unmarshal(b, &req.Body); err != nil {
			t.Errorf("fake forge: body %q: %v", b, err)
		}
		f.mu.Lock()
		f.got = append(f.got, req)
		code := f.code
		f.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeForge) requests() []forgeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]forgeRequest(nil), f.got...)
}

// testRepos is the forge repository of each project, as the forge
// connections will say it.
type testRepos struct {
	mu    sync.Mutex
	repos map[int64]*forge.Repo
}

func (r *testRepos) ForgeRepo(_ context.Context, projectID int64) (*forge.Repo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.repos[projectID], nil
}

func (r *testRepos) set(projectID int64, repo *forge.Repo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.repos == nil {
		r.repos = map[int64]*forge.Repo{}
	}
	r.repos[projectID] = repo
}

func allowLoopback(t *testing.T) outbound.Allow {
	t.Helper()
	a, err := outbound.ParseAllow("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

const oneJobPipeline = "jobs:\n  build:\n    steps: [echo built]\n"

// forgeProject creates a project whose statuses go to repo.
func forgeProject(t *testing.T, l *lathetest.Lathe, repos *testRepos, name, dir string, repo *forge.Repo) *lathe.Project {
	t.Helper()
	p := l.Project(t, name, dir)
	repos.set(p.ID, repo)
	if err := l.Store.SetCommitStatuses(context.Background(), p.ID, true); err != nil {
		t.Fatal(err)
	}
	return p
}

func runStatuses(t *testing.T, l *lathetest.Lathe, runID int64) []*lathe.Delivery {
	t.Helper()
	var out struct{ Items []*lathe.Delivery }
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/statuses", runID), nil, &out)
	return out.Items
}

// A run reports pending, running and success on its commit, in that order,
// to each kind of forge in the kind's own words, with a link to the run
// and one context per pipeline; the run lists the deliveries with the
// forge's HTTP codes. A project without a forge sends nothing.
func TestCommitStatusesReachEachForge(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		kinds := map[forge.Kind]*fakeForge{forge.GitHub: newFakeForge(t, 201), forge.GitLab: newFakeForge(t, 201), forge.Gitea: newFakeForge(t, 201)}
		repos := &testRepos{}
		o.OutboundAllow, o.ForgeRepos, o.DeliveryPoll = allowLoopback(t), repos, 100*time.Millisecond
		l := lathetest.Start(t, o)
		dir := lathetest.Repo(t, map[string]string{".lathe/ci.yml": oneJobPipeline})
		commit := strings.TrimSpace(lathetest.Git(t, dir, "rev-parse", "HEAD"))

		for _, kind := range forge.Kinds {
			f := kinds[kind]
			repo := &forge.Repo{Kind: kind, APIURL: f.URL, Token: "tok-" + string(kind), Owner: "acme", Name: "widget"}
			forgeProject(t, l, repos, "p-"+string(kind), dir, repo)
			run := l.Trigger(t, "p-"+string(kind), "", "ci")
			if done := l.Wait(t, run.ID, 60*time.Second); done.Status != lathe.StatusSuccess {
				t.Fatalf("%s: run %s", kind, done.Status)
			}
			waitFor(t, 30*time.Second, string(kind)+": three statuses delivered", func() bool {
				n := 0
				for _, d := range runStatuses(t, l, run.ID) {
					if d.Status == lathe.DeliveryDelivered {
						n++
					}
				}
				return n == 3
			})
			target := l.URL + "/runs/" + fmt.Sprint(run.ID)
			var path, auth string
			var want []map[string]any
			switch kind {
			case forge.GitHub:
				path, auth = "/repos/acme/widget/statuses/"+commit, "Bearer tok-github"
				for _, s := range [][2]string{{"pending", "is queued"}, {"pending", "is running"}, {"success", "succeeded"}} {
					want = append(want, map[string]any{"state": s[0], "context": "lathe/ci", "target_url": target, "description": "Lathe ci #1 " + s[1]})
				}
			case forge.Gitea:
				path, auth = "/api/v1/repos/acme/widget/statuses/"+commit, "token tok-gitea"
				for _, s := range [][2]string{{"pending", "is queued"}, {"pending", "is running"}, {"success", "succeeded"}} {
					want = append(want, map[string]any{"state": s[0], "context": "lathe/ci", "target_url": target, "description": "Lathe ci #1 " + s[1]})
				}
			case forge.GitLab:
				path, auth = "/api/v4/projects/acme%2Fwidget/statuses/"+commit, "PRIVATE-TOKEN tok-gitlab"
				for _, s := range [][2]string{{"pending", "is queued"}, {"running", "is running"}, {"success", "succeeded"}} {
					want = append(want, map[string]any{"state": s[0], "name": "lathe/ci", "target_url": target, "description": "Lathe ci #1 " + s[1]})
				}
			}
			got := f.requests()
			if len(got) != 3 {
				t.Fatalf("%s: %d requests; want 3: %+v", kind, len(got), got)
			}
			for i, g := range got {
				if g.Method != "POST" || g.Path != path || g.Auth != auth || fmt.Sprint(g.Body) != fmt.Sprint(want[i]) {
					t.Errorf("%s request %d: %s %s %q %v\nwant POST %s %q %v", kind, i+1, g.Method, g.Path, g.Auth, g.Body, path, auth, want[i])
				}
			}
			ds := runStatuses(t, l, run.ID)
			for i, d := range ds {
				if d.Kind != "status" || d.Context != "lathe/ci" || d.HTTPCode != 201 || d.Attempts != 1 || d.Target != target || d.DeliveredAt == nil {
					t.Errorf("%s delivery %d: %+v", kind, i+1, d)
				}
			}
			if states := strings.Join([]string{ds[0].State, ds[1].State, ds[2].State}, " "); states != "pending running success" {
				t.Errorf("%s: delivered states %s", kind, states)
			}
		}

		// No forge, no statuses (and no rows written for them).
		l.Project(t, "plain", dir)
		run := l.Trigger(t, "plain", "", "ci")
		l.Wait(t, run.ID, 60*time.Second)
		if ds := runStatuses(t, l, run.ID); len(ds) != 0 {
			t.Errorf("a project without a forge queued statuses: %+v", ds)
		}
	})
}

// A forge that answers 500, or does not answer at all, never holds a run
// up or changes its result: the run succeeds, and its statuses wait for
// their next try with the error recorded.
func TestStatusFailuresNeverHoldRunsUp(t *testing.T) {
	broken := newFakeForge(t, http.StatusInternalServerError)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	repos := &testRepos{}
	l := lathetest.Start(t, lathetest.Options{OutboundAllow: allowLoopback(t), ForgeRepos: repos, DeliveryPoll: 100 * time.Millisecond})
	dir := lathetest.Repo(t, map[string]string{".lathe/ci.yml": oneJobPipeline})
	forgeProject(t, l, repos, "five-hundred", dir, &forge.Repo{Kind: forge.GitHub, APIURL: broken.URL, Owner: "o", Name: "r"})
	forgeProject(t, l, repos, "unreachable", dir, &forge.Repo{Kind: forge.Gitea, APIURL: closed, Owner: "o", Name: "r"})

	for project, wantErr := range map[string]string{"five-hundred": "HTTP 500", "unreachable": "connection refused"} {
		run := l.Trigger(t, project, "", "ci")
		if done := l.Wait(t, run.ID, 60*time.Second); done.Status != lathe.StatusSuccess {
			t.Fatalf("%s: run %s; want success whatever the forge does", project, done.Status)
		}
		// The last state (success) is tried and waits for its next try;
		// the states before it, once failed, gave way to it.
		waitFor(t, 30*time.Second, project+": a failed try of the last state recorded", func() bool {
			ds := runStatuses(t, l, run.ID)
			return len(ds) == 3 && ds[2].Attempts > 0
		})
		ds := runStatuses(t, l, run.ID)
		d := ds[2]
		if d.State != "success" || d.Status != lathe.DeliveryQueued || d.NextAt == nil || !strings.Contains(d.Error, wantErr) {
			t.Errorf("%s: last status %+v; want success queued again, with %q", project, d, wantErr)
		}
		for _, old := range ds[:2] {
			if old.Status != lathe.DeliverySuperseded || old.Attempts != 1 {
				t.Errorf("%s: earlier status %+v; want superseded after its failed try", project, old)
			}
		}
		if project == "five-hundred" && d.HTTPCode != 500 {
			t.Errorf("%s: http_code %d; want 500", project, d.HTTPCode)
		}
	}
}
