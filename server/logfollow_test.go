package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// gatedStepsPipeline has steps that wait for gate files the test creates
// in the job's workspace: step 1 between its two lines, step 2 in the
// middle of a line.
const gatedStepsPipeline = `
jobs:
  talk:
    timeout: 2m
    steps:
      - name: first
        run: echo one; while [ ! -e gate1 ]; do sleep 0.05; done; echo two
      - name: second
        run: printf 'three '; while [ ! -e gate2 ]; do sleep 0.05; done; printf 'four\nfive\n'
      - name: third
        run: echo six
`

// followedLog is a log stream read in the background: its events arrive
// on events, which closes when the stream ends.
type followedLog struct {
	events chan client.Event
	stop   context.CancelFunc
	// Filled by next as the test reads: the bytes (stamped when asked),
	// the offset the next chunk must start at, the last event's id, the
	// texts of the log events one by one, and the end event.
	text   strings.Builder
	next   int64
	lastID string
	chunks []string
	end    *logEnd
}

type logEnd struct {
	ID     string
	Status lathe.Status `json:"status"`
	Size   int64        `json:"size"`
}

// followLog opens the stream at path and returns once the server has
// answered 200: from then on it follows.
func followLog(t *testing.T, c *client.Client, path, lastID string) *followedLog {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	resp, err := c.OpenStream(ctx, path, lastID)
	if err != nil {
		cancel()
		t.Fatalf("open %s: %v", path, err)
	}
	f := &followedLog{events: make(chan client.Event, 4096), stop: cancel}
	if lastID != "" {
		f.next, _ = strconv.ParseInt(lastID, 10, 64)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(f.events)
		defer resp.Body.Close()
		client.ReadEvents(ctx, resp.Body, func(ev client.Event) error {
			select {
			case f.events <- ev:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// readUntil reads events until the text read so far satisfies enough (nil:
// until the end event), checking that each chunk starts where the last
// one ended and that its id is the offset after it.
func (f *followedLog) readUntil(t *testing.T, what string, enough func(string) bool) {
	t.Helper()
	for ev := range f.events {
		switch ev.Name {
		case "end":
			f.end = &logEnd{ID: ev.ID}
			if err := json.Unmarshal(ev.Data, f.end); err != nil {
				t.Fatalf("end event %s: %v", ev.Data, err)
			}
			return
		case "log":
			var c lathe.LogChunk
			if err := json.Unmarshal(ev.Data, &c); err != nil {
				t.Fatalf("log event %s: %v", ev.Data, err)
			}
			b, err := c.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if c.Offset != f.next || c.Size <= 0 || ev.ID != strconv.FormatInt(c.Offset+c.Size, 10) {
				t.Errorf("%s: chunk at %d of %d bytes with id %s, want it at %d with id offset+size", what, c.Offset, c.Size, ev.ID, f.next)
			}
			f.next, f.lastID = c.Offset+c.Size, ev.ID
			f.text.Write(b)
			f.chunks = append(f.chunks, string(b))
			if enough != nil && enough(f.text.String()) {
				return
			}
		}
	}
	t.Fatalf("%s: the stream ended without an end event; read %q", what, f.text.String())
}

var lineStamp = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z `)

// Following a running job's log by step gives exactly that step's bytes,
// counted from its first byte, waiting for a step that has not started and
// ending when the step does; with timestamps each line gets its time once,
// even when it is split across events or a resume; Last-Event-ID resumes
// mid-step. What the streams carry is what the plain reads give.
func TestLogStreamByStepAndWithTimestamps(t *testing.T) {
	lathetest.Engines(t, testLogStreamByStepAndWithTimestamps)
}

func testLogStreamByStepAndWithTimestamps(t *testing.T, o lathetest.Options) {
	o.Agents = 1
	l := lathetest.Start(t, o)
	l.Project(t, "talk", lathetest.Repo(t, map[string]string{".lathe.yml": gatedStepsPipeline}))
	run := l.Trigger(t, "talk", "", "")
	jobID := run.Jobs[0].ID
	stream := fmt.Sprintf("/api/v1/jobs/%d/log/stream", jobID)

	whole := followLog(t, l.Client, stream+"?timestamps=true", "")
	first := followLog(t, l.Client, stream+"?step=1", "")
	never := followLog(t, l.Client, stream+"?step=9", "")
	first.readUntil(t, "step 1", func(s string) bool { return strings.Contains(s, "one\n") })

	// Step 2 has not started (step 1 waits for its gate): the stream waits.
	second := followLog(t, l.Client, stream+"?step=2&timestamps=true", "")
	ws := l.Workspace(t, ".lathe.yml")
	if err := os.WriteFile(filepath.Join(ws, "gate1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	first.readUntil(t, "step 1", nil)
	// The step's command is echoed first ("$ printf 'three '; …"): wait for
	// its output, stamped.
	second.readUntil(t, "step 2", func(s string) bool { return strings.HasSuffix(s, "Z three ") })
	second.stop() // drop the connection in the middle of the line "three four"

	if err := os.WriteFile(filepath.Join(ws, "gate2"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	resumed := followLog(t, l.Client, stream+"?step=2&timestamps=true", second.lastID)
	resumed.readUntil(t, "step 2 resumed", nil)
	whole.readUntil(t, "whole log", nil)
	never.readUntil(t, "step 9", nil)

	if r := l.Wait(t, run.ID, time.Minute); r.Status != lathe.StatusSuccess {
		t.Fatalf("run %s:\n%s", r.Status, l.Log(t, jobID))
	}
	job := l.Job(t, jobID)
	steps := job.Attempts[len(job.Attempts)-1].Steps
	raw := l.Log(t, jobID)
	stepLog := func(i int) string { return raw[steps[i].LogStart:*steps[i].LogEnd] }

	if first.text.String() != stepLog(1) || first.end.Size != int64(len(stepLog(1))) || first.end.ID != strconv.Itoa(len(stepLog(1))) ||
		first.end.Status != lathe.StatusSuccess {
		t.Errorf("step 1 streamed %q, end %+v; want %q, its size and success", first.text.String(), *first.end, stepLog(1))
	}
	if !strings.HasSuffix(stepLog(1), "one\ntwo\n") || strings.Contains(stepLog(1), "three") {
		t.Errorf("step 1's log: %q", stepLog(1))
	}

	// Step 2, stamped, in two connections: the stamps of the plain read,
	// the line split by the resume stamped once, offsets counting the
	// step's own bytes.
	plain, _ := getLogQuery(t, l.Client, jobID, "step=2&timestamps=true")
	if got := second.text.String() + resumed.text.String(); got != plain {
		t.Errorf("step 2 streamed with timestamps:\n%q\nwant the plain read's\n%q", got, plain)
	}
	if !lineStamp.MatchString(second.chunks[0]) || !strings.HasPrefix(resumed.chunks[0], "four\n") {
		t.Errorf("step 2: first event %q should start with a time, the resumed one %q with the rest of its line", second.chunks[0], resumed.chunks[0])
	}
	if n := len(lineStamp.FindAllString(plain, -1)); n != strings.Count(stepLog(2), "\n") || !strings.Contains(plain, " three four\n") {
		t.Errorf("step 2 has %d stamps for %d lines:\n%s", n, strings.Count(stepLog(2), "\n"), plain)
	}
	if lineStamp.ReplaceAllString(plain, "") != stepLog(2) {
		t.Errorf("step 2 without its times %q, want %q", lineStamp.ReplaceAllString(plain, ""), stepLog(2))
	}
	if resumed.next != int64(len(stepLog(2))) || resumed.end.Size != int64(len(stepLog(2))) || resumed.end.Status != lathe.StatusSuccess {
		t.Errorf("step 2 ended at %d with %+v, want its size %d and success", resumed.next, *resumed.end, len(stepLog(2)))
	}

	// The whole log, stamped, followed from before the job started.
	if plain, _ := getLogQuery(t, l.Client, jobID, "timestamps=true"); whole.text.String() != plain {
		t.Errorf("whole log streamed with timestamps:\n%q\nwant\n%q", whole.text.String(), plain)
	}
	if whole.next != int64(len(raw)) || whole.end.Size != int64(len(raw)) || whole.end.Status != lathe.StatusSuccess {
		t.Errorf("whole log: chunks up to %d, end %+v; want up to %d and success", whole.next, *whole.end, len(raw))
	}
	split := false // the line "three four" in two events, stamped in the first only
	for i := 1; i < len(whole.chunks); i++ {
		split = split || strings.HasSuffix(whole.chunks[i-1], " three ") && strings.HasPrefix(whole.chunks[i], "four\n")
	}
	if !split {
		t.Errorf("whole log: no event ends with the stamped start of \"three four\" and the next with the rest: %q", whole.chunks)
	}

	// A step the attempt never reaches: the live stream ends empty; once
	// the attempt is over, asking for it is a 404.
	if never.text.Len() != 0 || never.end.Size != 0 || never.end.Status != lathe.StatusSuccess {
		t.Errorf("step 9 followed live: %q, end %+v; want nothing and an end of size 0", never.text.String(), *never.end)
	}
	_, err := l.Client.OpenStream(context.Background(), stream+"?step=9", "")
	if client.StatusOf(err) != http.StatusNotFound || !strings.Contains(err.Error(), "no step 9") {
		t.Errorf("step 9 of a finished attempt: %v, want 404 naming the step", err)
	}
}
