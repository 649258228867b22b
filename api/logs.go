package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	lathe "github.com/lathe-ci/lathe"
)

// logAttempt finds the attempt a log request is about: ?attempt=N, or the
// job's latest attempt.
func (s *Server) logAttempt(r *http.Request) (*lathe.Attempt, error) {
	jobID, err := pathID(r, "job")
	if err != nil {
		return nil, err
	}
	n, err := queryInt(r, "attempt", 0, 0, 1<<30)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.Job(r.Context(), jobID); err != nil {
		return nil, err
	}
	return s.store.JobAttempt(r.Context(), jobID, int(n))
}

// getLog serves the log as plain bytes: whole, or the byte range
// [offset, offset+limit). The headers say how much exists and whether it is final.
func (s *Server) getLog(w http.ResponseWriter, r *http.Request) {
	a, err := s.logAttempt(r)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	off, err := queryInt(r, "offset", 0, 0, 1<<62)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	limit, err := queryInt(r, "limit", 64<<20, 1, 64<<20)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	data, a, err := s.store.ReadLog(r.Context(), a.ID, off, limit)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Lathe-Log-Size", strconv.FormatInt(a.LogSize, 10))
	w.Header().Set("Lathe-Log-Complete", strconv.FormatBool(a.Status.Terminal()))
	w.Header().Set("Lathe-Attempt", strconv.Itoa(a.Number))
	w.Write(data)
}

// logEvent is the data of one "log" server-sent event: the text of the log
// from byte offset Offset. The event's id is the offset just after it, so a
// client reconnecting with Last-Event-ID resumes exactly where it stopped.
type logEvent struct {
	Offset int64  `json:"offset"`
	Text   string `json:"text"`
}

// streamLog follows a log live over Server-Sent Events until the attempt
// finishes and every byte is sent. Resume with Last-Event-ID (or ?offset=).
func (s *Server) streamLog(w http.ResponseWriter, r *http.Request) {
	a, err := s.logAttempt(r)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	off, err := queryInt(r, "offset", 0, 0, 1<<62)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if off, err = strconv.ParseInt(id, 10, 64); err != nil || off < 0 {
			writeProblem(w, r, problemf(http.StatusBadRequest, "Last-Event-ID: %q is not a byte offset", id))
			return
		}
	}
	sse := startSSE(w)
	ctx := r.Context()
	for {
		wake := s.store.AttemptSignal(a.ID)
		data, cur, err := s.store.ReadLog(ctx, a.ID, off, 1<<20)
		if err != nil {
			return // the client sees the stream end and may resume
		}
		// Cut at a UTF-8 boundary so a rune split across chunks is sent whole next time.
		if cut := utf8Boundary(data); cut < len(data) && cur.LogSize > off+int64(len(data)) || cut < len(data) && !cur.Status.Terminal() {
			data = data[:cut]
		}
		if len(data) > 0 {
			off += int64(len(data))
			sse.event("log", strconv.FormatInt(off, 10), logEvent{Offset: off - int64(len(data)), Text: string(data)})
			continue
		}
		if cur.Status.Terminal() && off >= cur.LogSize {
			sse.event("end", strconv.FormatInt(off, 10), map[string]any{"status": cur.Status, "size": cur.LogSize})
			return
		}
		select {
		case <-wake:
		case <-time.After(15 * time.Second):
			sse.comment("keep-alive")
		case <-ctx.Done():
			return
		}
	}
}

// utf8Boundary returns the length of the longest prefix of b that does not
// end inside a multi-byte UTF-8 sequence.
func utf8Boundary(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}

// sseWriter writes Server-Sent Events.
type sseWriter struct {
	w http.ResponseWriter
	f *http.ResponseController
}

func startSSE(w http.ResponseWriter) *sseWriter {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, f: http.NewResponseController(w)}
	s.f.Flush()
	return s
}

func (s *sseWriter) event(name, id string, data any) {
	b, _ := json.Marshal(data)
	fmt.Fprintf(s.w, "event: %s\nid: %s\ndata: %s\n\n", name, id, b)
	s.f.Flush()
}

func (s *sseWriter) comment(text string) {
	fmt.Fprintf(s.w, ": %s\n\n", text)
	s.f.Flush()
}

// runEvents streams the run (with its stages and jobs) each time it changes,
// ending after the run finishes.
func (s *Server) runEvents(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "run")
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	run, err := s.store.Run(r.Context(), id)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	sse := startSSE(w)
	ctx := r.Context()
	for seq := 1; ; seq++ {
		sse.event("run", strconv.Itoa(seq), run)
		if run.Status.Terminal() {
			return
		}
		wake := s.store.RunSignal(id)
		if run, err = s.store.Run(ctx, id); err != nil {
			return
		}
		if run.Status.Terminal() {
			continue
		}
		select {
		case <-wake:
		case <-time.After(15 * time.Second):
		case <-ctx.Done():
			return
		}
		if run, err = s.store.Run(ctx, id); err != nil {
			return
		}
	}
}
