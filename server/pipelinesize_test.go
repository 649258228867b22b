package server_test

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A pipeline file over 1 MiB is a config error found from its size in git,
// before it is read: triggering, listing the pipelines and planning all
// refuse it, and none of them brings the file into the server's memory.
func TestOversizedPipelineFileIsNeverRead(t *testing.T) {
	const size = 64 << 20
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": strings.Repeat("# padding padding padding\n", size/26+1)})
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "big", repo)
	ctx := context.Background()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, rq := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/projects/big/runs"},
		{http.MethodGet, "/api/v1/projects/big/pipelines"},
		{http.MethodGet, "/api/v1/projects/big/pipelines/main/plan"},
	} {
		var body any
		if rq.method == http.MethodPost {
			body = map[string]string{}
		}
		err := l.Client.Do(ctx, rq.method, rq.path, body, nil)
		ce, ok := err.(*client.Error)
		if !ok || ce.Status != http.StatusUnprocessableEntity || !strings.Contains(ce.Detail, ".lathe.yml") ||
			!strings.Contains(ce.Detail, "limited to 1048576 bytes") {
			t.Errorf("%s %s: %v, want 422 saying .lathe.yml is over 1 MiB", rq.method, rq.path, err)
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > size/4 {
		t.Errorf("reading a %d-byte pipeline file allocated %d bytes; the file must not be read", size, grew)
	}

	var list struct{ Items []*lathe.ConfigErrors }
	l.Do(t, http.MethodGet, "/api/v1/projects/big/config-errors", nil, &list)
	if len(list.Items) != 1 || len(list.Items[0].Errors) != 1 || list.Items[0].Errors[0].File != ".lathe.yml" {
		t.Errorf("config errors = %+v; want the size of .lathe.yml on main", list.Items)
	}
}
