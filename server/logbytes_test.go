package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A step that prints bytes that are not UTF-8 (here 300,000 random bytes
// between two text lines): the live log stream carries them exactly, so the
// bytes rebuilt from its events equal the stored log byte for byte. JSON
// strings cannot carry such bytes; before they were sent as base64 each bad
// byte arrived as U+FFFD and the stream grew by ~80 %.
func TestLogStreamCarriesNonUTF8BytesExactly(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "noise", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  noise:
    steps:
      - |
        printf 'before ünïcödé\n'; head -c 300000 /dev/urandom; printf '\377\376\200 after\n'
`}))
	run := l.Trigger(t, "noise", "", "")
	jobID := run.Jobs[0].ID
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var got []byte
	var end int64 = -1
	var binary int
	err := l.Client.Stream(ctx, fmt.Sprintf("/api/v1/jobs/%d/log/stream", jobID), "", func(ev client.Event) error {
		switch ev.Name {
		case "log":
			var chunk lathe.LogChunk
			if err := json.Unmarshal(ev.Data, &chunk); err != nil {
				return err
			}
			if chunk.Offset != int64(len(got)) {
				t.Errorf("chunk at offset %d, want %d", chunk.Offset, len(got))
			}
			if (chunk.Text == "") == (chunk.Base64 == "") {
				t.Errorf("chunk at offset %d sets %q text and %q base64; want exactly one", chunk.Offset, chunk.Text, chunk.Base64)
			}
			if chunk.Base64 != "" {
				binary++
			}
			b, err := chunk.Bytes()
			if err != nil {
				return err
			}
			got = append(got, b...)
			if ev.ID != strconv.Itoa(len(got)) {
				t.Errorf("event id %s, want the offset after the chunk, %d", ev.ID, len(got))
			}
		case "end":
			var e struct{ Size int64 }
			if err := json.Unmarshal(ev.Data, &e); err != nil {
				return err
			}
			end = e.Size
		}
		return nil
	})
	if err != nil || end < 0 {
		t.Fatalf("stream: err %v, end size %d", err, end)
	}
	stored := l.Log(t, jobID)
	if string(got) != stored || int64(len(got)) != end {
		t.Fatalf("streamed %d bytes, stored log has %d, end event says %d; they differ", len(got), len(stored), end)
	}
	if binary == 0 || len(stored) < 300000 {
		t.Fatalf("the log (%d bytes, %d base64 chunks) should hold the random bytes", len(stored), binary)
	}
}
