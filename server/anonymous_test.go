package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// An anonymous caller cannot tell a private project (or its runs, jobs and
// stages) from one that does not exist, by any route or filter: both answer
// alike, the name or ID aside.
func TestAnonymousCannotTellPrivateFromMissing(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "hidden", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps: [echo hi]\n"}))
	run := l.Wait(t, l.Trigger(t, "hidden", "", "").ID, time.Minute)
	if run.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", run.Status)
	}
	job := run.Jobs[0]
	var stages struct{ Items []lathe.Stage }
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/stages", run.ID), nil, &stages)
	const missingID = 999999
	anon := func(path string) (int, string) {
		resp, err := lathetest.HTTPClient(t).Get(l.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	pairs := [][2]string{
		{"/api/v1/projects/hidden", "/api/v1/projects/nosuch"},
		{"/api/v1/projects/hidden/runs", "/api/v1/projects/nosuch/runs"},
		{"/api/v1/projects/hidden/pipelines", "/api/v1/projects/nosuch/pipelines"},
		{"/api/v1/projects/hidden/pipelines/main", "/api/v1/projects/nosuch/pipelines/main"},
		{"/api/v1/projects/hidden/config-errors", "/api/v1/projects/nosuch/config-errors"},
		{"/api/v1/projects/hidden/members", "/api/v1/projects/nosuch/members"},
		{"/api/v1/projects/hidden/key.pub", "/api/v1/projects/nosuch/key.pub"},
		{"/api/v1/projects/hidden/semaphores", "/api/v1/projects/nosuch/semaphores"},
		{"/api/v1/projects/hidden/holds", "/api/v1/projects/nosuch/holds"},
		{"/api/v1/runs?project=hidden", "/api/v1/runs?project=nosuch"},
		{fmt.Sprintf("/api/v1/runs/%d", run.ID), fmt.Sprintf("/api/v1/runs/%d", missingID)},
		{fmt.Sprintf("/api/v1/runs/%d/stages", run.ID), fmt.Sprintf("/api/v1/runs/%d/stages", missingID)},
		{fmt.Sprintf("/api/v1/runs/%d/uploads", run.ID), fmt.Sprintf("/api/v1/runs/%d/uploads", missingID)},
		{fmt.Sprintf("/api/v1/stages/%d", stages.Items[0].ID), fmt.Sprintf("/api/v1/stages/%d", missingID)},
		{fmt.Sprintf("/api/v1/jobs/%d", job.ID), fmt.Sprintf("/api/v1/jobs/%d", missingID)},
		{fmt.Sprintf("/api/v1/jobs/%d/log", job.ID), fmt.Sprintf("/api/v1/jobs/%d/log", missingID)},
	}
	for _, p := range pairs {
		c1, b1 := anon(p[0])
		c2, b2 := anon(p[1])
		norm := func(s string) string {
			for _, x := range []string{"hidden", "nosuch", fmt.Sprint(run.ID), fmt.Sprint(job.ID), fmt.Sprint(stages.Items[0].ID), fmt.Sprint(missingID)} {
				s = strings.ReplaceAll(s, x, "X")
			}
			return s
		}
		if c1 != c2 || norm(b1) != norm(b2) {
			t.Errorf("anonymous GET %s = %d %s\n  but %s = %d %s", p[0], c1, b1, p[1], c2, b2)
		}
		if c1 == http.StatusOK {
			t.Errorf("anonymous GET %s = 200 %s", p[0], b1)
		}
	}
}
