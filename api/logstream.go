package api

import (
	"context"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	lathe "github.com/lathe-ci/lathe"
)

// streamLog follows a log live over Server-Sent Events until the attempt
// finishes and every byte is sent. Resume with Last-Event-ID (or ?offset=).
// It follows one attempt (?attempt=N, else the latest, or the first once
// the job is claimed) and ends with it even when the job will retry: its
// ids and offsets count that attempt's bytes, and the web UI's job page
// shows one attempt. Clients follow a job's retries as further streams
// (`lathe logs -f` does, learning of each attempt from the run's events).
// ?step=N follows that step's part of the log: offsets and event ids count
// from the step's first byte, as the plain read's do; the stream waits for
// a step that has not started while the attempt runs, and ends once the
// step's part is closed. ?timestamps=true puts the time each line arrived
// at its head (see lathe.LogChunk); offsets and ids still count the log's
// own bytes.
func (s *Server) streamLog(w http.ResponseWriter, r *http.Request) error {
	job, a, err := s.logAttempt(r)
	if err != nil {
		return err
	}
	f, err := s.newLogFollow(r)
	if err != nil {
		return err
	}
	// A step the attempt can no longer have is a 404, as for the plain read.
	if f.step >= 0 && a != nil && a.Status.Terminal() {
		if _, err := stepWindow(job, a, f.step); err != nil {
			return err
		}
	}
	if f.step >= 0 && a == nil && job.Status.Terminal() {
		return problemf(http.StatusNotFound, "job %d ended %s without starting: it has no step %d", job.ID, job.Status, f.step)
	}
	sse := startSSE(w)
	ctx := r.Context()
	// Not claimed yet: wait for the first attempt, or for the job to end without one.
	for a == nil {
		wake := s.store.RunSignal(job.RunID)
		if job, a, err = s.logAttempt(r); err != nil {
			return nil
		}
		if a != nil {
			break
		}
		if job.Status.Terminal() {
			sse.event("end", "0", map[string]any{"status": job.Status, "size": 0})
			return nil
		}
		if !await(ctx, sse, wake) {
			return nil
		}
	}
	f.attempt = a.ID
	f.run(ctx, sse)
	return nil
}

// logFollow is one client following one attempt's log: which part of it,
// how it wants the bytes, and how far it got.
type logFollow struct {
	s       *Server
	attempt int64
	step    int64 // -1: the whole log
	stamp   bool
	// off is the next byte to send, counted from the start of the part.
	off int64
	// midLine says off is inside a line (its time already sent), once
	// lineKnown; a resumed stream learns it from the byte before off.
	midLine, lineKnown bool
}

func (s *Server) newLogFollow(r *http.Request) (*logFollow, error) {
	f := &logFollow{s: s}
	var err error
	if f.off, err = queryInt(r, "offset", 0, 0, 1<<62); err != nil {
		return nil, err
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if f.off, err = strconv.ParseInt(id, 10, 64); err != nil || f.off < 0 {
			return nil, problemf(http.StatusBadRequest, "Last-Event-ID: %q is not a byte offset", id)
		}
	}
	if f.step, err = queryInt(r, "step", -1, 0, 1<<20); err != nil {
		return nil, err
	}
	stamp, err := queryBool(r, "timestamps")
	if err != nil {
		return nil, err
	}
	f.stamp = stamp != nil && *stamp
	return f, nil
}

// run sends the followed part of the log as it grows, then the end event.
// Errors end the stream: the client sees it end without an end event and
// may resume.
func (f *logFollow) run(ctx context.Context, sse *sseWriter) {
	for {
		// Take the signal before reading, so a change in between is not missed.
		wake := f.s.store.AttemptSignal(f.attempt)
		data, cur, st, win, err := f.read(ctx)
		if err != nil {
			return
		}
		if f.step >= 0 && st == nil {
			if cur.Status.Terminal() { // the attempt ended before the step began
				sse.event("end", "0", map[string]any{"status": cur.Status, "size": 0})
				return
			}
			if !await(ctx, sse, wake) {
				return
			}
			continue
		}
		final, size := win.final(cur), win.size(cur)
		if cur.Status.Terminal() {
			size = min(size, max(cur.LogSize-win.start, 0)) // no more bytes will come
		}
		// Cut at a UTF-8 boundary so a rune split across chunks is sent whole next time.
		if cut := utf8Boundary(data); cut < len(data) && !(final && f.off+int64(len(data)) >= size) {
			data = data[:cut]
		}
		if len(data) > 0 {
			if err := f.send(ctx, sse, data, win); err != nil {
				return
			}
			continue
		}
		if final && f.off >= size {
			status := cur.Status
			if st != nil && st.Status.Terminal() {
				status = st.Status
			}
			sse.event("end", strconv.FormatInt(size, 10), map[string]any{"status": status, "size": size})
			return
		}
		if !await(ctx, sse, wake) {
			return
		}
	}
}

// read reads the next bytes of the followed part, with the attempt as it
// was when they were read, and the part's step (nil when following the
// whole log or when the step has not started) and window.
func (f *logFollow) read(ctx context.Context) ([]byte, *lathe.Attempt, *lathe.Step, logWindow, error) {
	limit := int64(1 << 20)
	if f.stamp {
		// A chunk of short lines grows many times over with its times.
		limit = 256 << 10
	}
	if f.step < 0 {
		data, cur, err := f.s.store.ReadLog(ctx, f.attempt, f.off, limit)
		return data, cur, nil, logWindow{end: -1}, err
	}
	cur, err := f.s.store.Attempt(ctx, f.attempt)
	if err != nil {
		return nil, nil, nil, logWindow{}, err
	}
	st := stepOf(cur, f.step)
	if st == nil {
		return nil, cur, nil, logWindow{}, nil
	}
	win := windowOf(st)
	// Read no further than the log as cur saw it: the steps were read after
	// it, so while the step is open in cur, those bytes are all the step's.
	end := cur.LogSize
	if win.end >= 0 {
		end = min(end, win.end)
	}
	if limit = min(limit, end-win.start-f.off); limit <= 0 {
		return []byte{}, cur, st, win, nil
	}
	data, _, err := f.s.store.ReadLog(ctx, f.attempt, win.start+f.off, limit)
	return data, cur, st, win, err
}

// send sends data, the part's bytes at f.off, as one log event, stamped
// when asked; the event's id is the offset just after it, so a client
// reconnecting with Last-Event-ID resumes exactly where it stopped.
func (f *logFollow) send(ctx context.Context, sse *sseWriter, data []byte, win logWindow) error {
	out := data
	if f.stamp {
		from := win.start + f.off
		if !f.lineKnown && f.off > 0 {
			prev, _, err := f.s.store.ReadLog(ctx, f.attempt, from-1, 1)
			if err != nil {
				return err
			}
			f.midLine = len(prev) == 1 && prev[0] != '\n'
		}
		arrivals, err := f.s.store.LogArrivals(ctx, f.attempt, from, from+int64(len(data)))
		if err != nil {
			return err
		}
		out = lathe.StampContinuing(data, from, arrivals, f.midLine)
		f.midLine, f.lineKnown = data[len(data)-1] != '\n', true
	}
	chunk := lathe.NewStampedLogChunk(f.off, int64(len(data)), out)
	f.off += int64(len(data))
	sse.event("log", strconv.FormatInt(f.off, 10), chunk)
	return nil
}

// await waits for wake, keeping the connection alive meanwhile; false
// when the client went away.
func await(ctx context.Context, sse *sseWriter, wake <-chan struct{}) bool {
	select {
	case <-wake:
		return true
	case <-time.After(15 * time.Second):
		sse.comment("keep-alive")
		return true
	case <-ctx.Done():
		return false
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
