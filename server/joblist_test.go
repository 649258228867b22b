package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// jobEntryDoc is a job of GET /api/v1/jobs as a client reads it.
type jobEntryDoc struct {
	ID        int64        `json:"id"`
	RunID     int64        `json:"run_id"`
	Name      string       `json:"name"`
	Status    lathe.Status `json:"status"`
	Project   string       `json:"project"`
	Pipeline  string       `json:"pipeline"`
	RunNumber int64        `json:"run_number"`
}

// jobPageDoc is a page of GET /api/v1/jobs.
type jobPageDoc struct {
	Items []jobEntryDoc `json:"items"`
	Next  *int64        `json:"next"`
}

// The jobs waiting across projects are one list (the queue), narrowed to
// what the caller may read, by project and by status, paged.
func TestJobsAcrossRuns(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  build:
    steps: [echo build]
  gpu:
    runs-on: [gpu]
    steps: [echo gpu]
  after:
    needs: [build]
    steps: [echo after]
`})
	l.Project(t, "shop", repo)
	l.Do(t, "POST", "/api/v1/projects", map[string]any{"name": "open", "url": repo, "visibility": "public"}, nil)
	shop := l.Trigger(t, "shop", "", "")
	open := l.Trigger(t, "open", "", "")

	var q jobPageDoc
	l.Do(t, http.MethodGet, "/api/v1/jobs?status=queued", nil, &q)
	var got []string
	for _, it := range q.Items {
		got = append(got, fmt.Sprintf("%s#%d/%s", it.Project, it.RunNumber, it.Name))
		if it.Status != lathe.StatusQueued || it.Pipeline != "main" {
			t.Errorf("queued list holds %+v", it)
		}
	}
	// Newest first; "after" waits for build, so it is not queued.
	if want := []string{"open#1/gpu", "open#1/build", "shop#1/gpu", "shop#1/build"}; !slices.Equal(got, want) {
		t.Errorf("queue: %v, want %v (runs %d, %d)", got, want, shop.ID, open.ID)
	}

	var pending jobPageDoc
	l.Do(t, http.MethodGet, "/api/v1/jobs?project=shop&status=pending", nil, &pending)
	if len(pending.Items) != 1 || pending.Items[0].Name != "after" || pending.Items[0].RunID != shop.ID {
		t.Errorf("shop's pending jobs: %+v", pending.Items)
	}

	// Paged: two pages of two, then none.
	var p1, p2 jobPageDoc
	l.Do(t, http.MethodGet, "/api/v1/jobs?status=queued&limit=2", nil, &p1)
	if len(p1.Items) != 2 || p1.Next == nil {
		t.Fatalf("first page: %+v", p1)
	}
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/jobs?status=queued&limit=2&before=%d", *p1.Next), nil, &p2)
	if len(p2.Items) != 2 || p2.Next != nil || p2.Items[0].ID >= p1.Items[1].ID {
		t.Errorf("second page: %+v after %+v", p2, p1)
	}

	// Anonymous callers see the public project's jobs only; a private
	// project they name is not found.
	anon := l.ClientAs(t, "")
	var pub jobPageDoc
	if err := anon.Do(t.Context(), http.MethodGet, "/api/v1/jobs", nil, &pub); err != nil {
		t.Fatal(err)
	}
	if len(pub.Items) != 3 || slices.ContainsFunc(pub.Items, func(it jobEntryDoc) bool { return it.Project != "open" }) {
		t.Errorf("anonymous sees %+v, want open's three jobs", pub.Items)
	}
	if err := anon.Do(t.Context(), http.MethodGet, "/api/v1/jobs?project=shop", nil, nil); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("anonymous naming a private project: %v, want 404", err)
	}
	if err := l.Client.Do(t.Context(), http.MethodGet, "/api/v1/jobs?status=sleeping", nil, nil); client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("status=sleeping: %v, want 400", err)
	}
}
