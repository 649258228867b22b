package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A pipeline with max-runs: 1 refuses a trigger, and a re-run, while one of
// its runs is unfinished, with 400 naming it (Escape's "Pipeline is still
// running"); once it ends, the next trigger is accepted.
func TestMaxRunsRefusesWhileRunning(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		l.Project(t, "one", lathetest.Repo(t, map[string]string{".lathe.yml": "max-runs: 1\njobs:\n  slow:\n    steps: [sleep 1]\n"}))
		first := l.Trigger(t, "one", "", "")
		ctx := context.Background()
		err := l.Client.Do(ctx, http.MethodPost, "/api/v1/projects/one/runs", map[string]string{}, nil)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || !strings.Contains(ce.Error(), "still running (run #1)") {
			t.Errorf("second trigger while #1 runs: %v; want 400 naming run #1", err)
		}
		done := l.Wait(t, first.ID, 60*time.Second)
		if done.Status != lathe.StatusSuccess {
			t.Fatalf("first run = %s", done.Status)
		}
		second := l.Trigger(t, "one", "", "")
		err = l.Client.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun", first.ID), nil, nil)
		if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || !strings.Contains(ce.Error(), "still running") {
			t.Errorf("re-run while #2 runs: %v; want 400", err)
		}
		l.Wait(t, second.ID, 60*time.Second)
		var page lathe.Page[*lathe.Run]
		l.Do(t, http.MethodGet, "/api/v1/runs?project=one", nil, &page)
		if len(page.Items) != 2 {
			t.Errorf("runs = %d; want 2 (refused triggers store nothing)", len(page.Items))
		}
	})
}
