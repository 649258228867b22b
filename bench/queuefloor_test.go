package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// A claim of the server floor takes jobs of its drain's runs only: a claim
// still waiting from an earlier drain (its worker gone, the server not yet
// aware) does not take, and lose, a job of the next drain. Once, under
// load, the warm-up's last claims took a job of the measured drain, which
// then never finished.
func TestServerFloorClaimTakesOnlyItsDrainsRuns(t *testing.T) {
	c, url, err := startFloor("server floor", queueFloorArg, "sqlite", filepath.Join(t.TempDir(), "floor.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop(stopTimeout)
	f := &floorWorkers{url: url, client: &http.Client{}}
	defer f.client.CloseIdleConnections()
	ctx := t.Context()

	// The earlier drain's claim waits (run 1 has no job left) …
	type answer struct {
		code int
		err  error
	}
	stale := make(chan answer, 1)
	go func() {
		var j queueFloorJob
		code, err := f.post(ctx, "/claim?wait=2&lo=1&hi=1", queueFloorToken(0), nil, &j)
		stale <- answer{code, err}
	}()
	time.Sleep(200 * time.Millisecond) // the claim is waiting
	// … while the next drain queues run 2's job, which wakes it.
	if _, err := f.post(ctx, "/enqueue", "", queueFloorEnqueue{Run: 2, Jobs: []queueFloorJob{{Name: "j1", Script: "true"}}}, nil); err != nil {
		t.Fatal(err)
	}
	if a := <-stale; a.err != nil || a.code != http.StatusNoContent {
		t.Fatalf("a claim for run 1 answered %d (%v); want 204, run 2's job left alone", a.code, a.err)
	}
	var j queueFloorJob
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	code, err := f.post(cctx, "/claim?wait=2&lo=2&hi=2", queueFloorToken(1), nil, &j)
	if err != nil || code != http.StatusOK || j.Name != "j1" {
		t.Fatalf("a claim for run 2 answered %d %+v (%v); want run 2's job j1", code, j, err)
	}
	if code, err := f.post(ctx, "/claim?wait=0", queueFloorToken(1), nil, nil); err == nil || code != http.StatusBadRequest {
		t.Fatalf("a claim without its runs answered %d (%v); want 400", code, err)
	}
}
