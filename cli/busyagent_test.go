package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// An agent busy with a long job stays online: its reports are heard from
// it, so `lathe agents list` says online, and the job queued behind it
// waits without "no online agent" (which would fail it at the queue
// timeout) however long the running job takes. A minute and a half passes
// on the server's clock while the job runs.
func TestBusyAgentStaysOnline(t *testing.T) {
	clk := clock.NewManual(time.Now())
	l := lathetest.Start(t, lathetest.Options{Agents: 1, Clock: clk})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  long:
    steps: [sleep 60]
  next:
    steps: [true]
`}))
	run := l.Trigger(t, "shop", "", "")
	t.Cleanup(func() {
		l.Client.Do(context.Background(), http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), nil, nil)
	})
	busy := func() bool {
		var running, queued bool
		for _, j := range l.Run(t, run.ID).Jobs {
			running = running || j.Status == lathe.StatusRunning
			queued = queued || j.Status == lathe.StatusQueued
		}
		return running && queued
	}
	for i := 0; i < 300 && !busy(); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if !busy() {
		t.Fatalf("one job never ran while the other was queued: %+v", l.Run(t, run.ID).Jobs)
	}
	// In steps, so that the running attempt's lease is renewed between them.
	for range 9 {
		clk.Advance(10 * time.Second)
		time.Sleep(600 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a write of last_seen waits a second for others
	if agents := runCLI(t, l, []string{"agents", "list"}); !strings.Contains(agents, " online ") {
		t.Errorf("the busy agent is not online:\n%s", agents)
	}
	// The queue sweep (every 5 s) names a reason for a job no online agent can take.
	for end := time.Now().Add(7 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if queue := runCLI(t, l, []string{"jobs", "--status", "queued"}); strings.Contains(queue, "no online agent") {
			t.Fatalf("the job queued behind a busy agent waits for no online agent:\n%s", queue)
		}
	}
}
