package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const slowLogPipeline = `
jobs:
  talk:
    steps:
      - for i in 1 2 3 4 5 6; do echo "line $i ünïcödé"; sleep 0.15; done
`

type logEvent struct {
	Offset int64  `json:"offset"`
	Text   string `json:"text"`
}

// Following a live log over SSE, dropping the connection and resuming with
// Last-Event-ID gives the whole log with no gap and no duplicate.
func TestLogStreamResumesWithoutGapsOrDuplicates(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "talk", lathetest.Repo(t, map[string]string{".lathe.yml": slowLogPipeline}))
	run := l.Trigger(t, "talk", "", "")
	jobID := run.Jobs[0].ID
	stream := fmt.Sprintf("/api/v1/jobs/%d/log/stream", jobID)

	// The job may not have an attempt yet; wait until it does.
	deadline := time.Now().Add(30 * time.Second)
	for l.Job(t, jobID).Attempt == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}

	var got strings.Builder
	var lastID string
	var next int64
	errStop := errors.New("drop the connection")
	dropped := false
	collect := func(ev client.Event) error {
		if ev.Name != "log" {
			return nil
		}
		var le logEvent
		if err := json.Unmarshal(ev.Data, &le); err != nil {
			return err
		}
		if le.Offset != next {
			t.Errorf("event at offset %d, want %d (gap or duplicate)", le.Offset, next)
		}
		next = le.Offset + int64(len(le.Text))
		if ev.ID != strconv.FormatInt(next, 10) {
			t.Errorf("event id %s, want the byte offset after the chunk, %d", ev.ID, next)
		}
		got.WriteString(le.Text)
		lastID = ev.ID
		if !dropped && strings.Contains(got.String(), "line 2") {
			dropped = true
			return errStop
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Client.Stream(ctx, stream, "", collect); !errors.Is(err, errStop) {
		t.Fatalf("first stream ended with %v before line 2", err)
	}
	ended := false
	err := l.Client.Stream(ctx, stream, lastID, func(ev client.Event) error {
		if ev.Name == "end" {
			ended = true
			return nil
		}
		return collect(ev)
	})
	if err != nil || !ended {
		t.Fatalf("resumed stream: err %v, end event %v", err, ended)
	}
	full := l.Log(t, jobID)
	if got.String() != full {
		t.Errorf("streamed log differs from stored log:\nstreamed %q\nstored   %q", got.String(), full)
	}
	for i := 1; i <= 6; i++ {
		if strings.Count(full, fmt.Sprintf("line %d ünïcödé\n", i)) != 1 {
			t.Errorf("log should hold line %d exactly once:\n%s", i, full)
		}
	}
}

// A byte range of a log is exactly that slice of the whole log, and the
// headers say how large the log is and that it is complete.
func TestLogRange(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "range", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps: [seq 1 500]\n"}))
	run := l.Wait(t, l.Trigger(t, "range", "", "").ID, 30*time.Second)
	jobID := run.Jobs[0].ID
	full := l.Log(t, jobID)
	if !strings.Contains(full, "\n500\n") {
		t.Fatalf("log lacks the output:\n%s", full)
	}
	for _, r := range []struct{ off, limit int }{{0, 10}, {5, 100}, {len(full) - 3, 100}, {len(full), 10}} {
		resp, err := l.Client.Request(context.Background(), http.MethodGet,
			fmt.Sprintf("/api/v1/jobs/%d/log?offset=%d&limit=%d", jobID, r.off, r.limit), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := full[r.off:min(r.off+r.limit, len(full))]
		if string(b) != want {
			t.Errorf("range %d+%d = %q, want %q", r.off, r.limit, b, want)
		}
		if resp.Header.Get("Lathe-Log-Size") != strconv.Itoa(len(full)) || resp.Header.Get("Lathe-Log-Complete") != "true" {
			t.Errorf("headers: size %s complete %s", resp.Header.Get("Lathe-Log-Size"), resp.Header.Get("Lathe-Log-Complete"))
		}
	}
	err := l.Client.Do(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log?offset=-1", jobID), nil, nil)
	if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "offset") {
		t.Errorf("negative offset: %v, want 400 naming offset", err)
	}
}
