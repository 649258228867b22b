package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// logAttempt finds the job a log request is about and its attempt:
// ?attempt=N, or the latest. The attempt is nil when the job has not been
// claimed yet (its log is empty so far).
func (s *Server) logAttempt(r *http.Request) (*lathe.Job, *lathe.Attempt, error) {
	jobID, err := pathID(r, "job")
	if err != nil {
		return nil, nil, err
	}
	n, err := queryInt(r, "attempt", 0, 0, 1<<30)
	if err != nil {
		return nil, nil, err
	}
	job, err := s.store.Job(r.Context(), jobID)
	if err != nil {
		return nil, nil, err
	}
	if n == 0 {
		if len(job.Attempts) == 0 {
			return job, nil, nil
		}
		return job, job.Attempts[len(job.Attempts)-1], nil
	}
	for _, a := range job.Attempts {
		if a.Number == int(n) {
			return job, a, nil
		}
	}
	return nil, nil, problemf(http.StatusNotFound, "job %d has no attempt %d (it has %d)", jobID, n, len(job.Attempts))
}

// getLog serves the log as plain bytes: whole, or the byte range
// [offset, offset+limit). The headers say how much exists and whether it is
// final. With ?step=N it serves that step's part of the log (offset and
// the size headers count from the step's first byte); with
// ?timestamps=true each line starts with the time it reached the server
// (see lathe.StampLines), while offset, limit and the headers keep
// counting the log's own bytes.
func (s *Server) getLog(w http.ResponseWriter, r *http.Request) error {
	job, a, err := s.logAttempt(r)
	if err != nil {
		return err
	}
	off, err := queryInt(r, "offset", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 64<<20, 1, 64<<20)
	if err != nil {
		return err
	}
	step, err := queryInt(r, "step", -1, 0, 1<<20)
	if err != nil {
		return err
	}
	stamp, err := queryBool(r, "timestamps")
	if err != nil {
		return err
	}
	data := []byte{}
	size, complete, number := int64(0), job.Status.Terminal(), 0
	if a != nil {
		var win logWindow
		if win, err = stepWindow(job, a, step); err != nil {
			return err
		}
		if data, a, err = s.readWindow(r, a, win, off, limit); err != nil {
			return err
		}
		size, complete, number = win.size(a), win.final(a), a.Number
		if stamp != nil && *stamp && len(data) > 0 {
			from := win.start + off
			arrivals, err := s.store.LogArrivals(r.Context(), a.ID, from, from+int64(len(data)))
			if err != nil {
				return err
			}
			data = lathe.StampLines(data, from, arrivals)
		}
	} else if step > 0 {
		return problemf(http.StatusNotFound, "job %d has not started: it has no step %d yet", job.ID, step)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Lathe-Log-Size", strconv.FormatInt(size, 10))
	w.Header().Set("Lathe-Log-Complete", strconv.FormatBool(complete))
	w.Header().Set("Lathe-Attempt", strconv.Itoa(number))
	w.Write(data)
	return nil
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
	s.raw(name, id, b)
}

// raw sends one event whose data is JSON (which never contains a newline).
func (s *sseWriter) raw(name, id string, data []byte) {
	fmt.Fprintf(s.w, "event: %s\nid: %s\ndata: %s\n\n", name, id, data)
	s.f.Flush()
}

func (s *sseWriter) comment(text string) {
	fmt.Fprintf(s.w, ": %s\n\n", text)
	s.f.Flush()
}

// runEvents streams the run (with its stages and jobs) whenever it changes,
// ending after the run finishes. Each event is a full snapshot, so a client
// that reconnects needs no resume point.
func (s *Server) runEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "run")
	if err != nil {
		return err
	}
	if _, err := s.store.Run(r.Context(), id); err != nil {
		return err
	}
	sse := startSSE(w)
	ctx := r.Context()
	var sent []byte
	for seq := 1; ; {
		// Take the signal before reading, so a change in between is not missed.
		wake := s.store.RunSignal(id)
		run, err := s.store.Run(ctx, id)
		if err != nil {
			return nil
		}
		if b, _ := json.Marshal(run); !bytes.Equal(b, sent) {
			sse.raw("run", strconv.Itoa(seq), b)
			seq, sent = seq+1, b
		}
		if run.Status.Terminal() {
			return nil
		}
		select {
		case <-wake:
		case <-time.After(15 * time.Second):
			sse.comment("keep-alive")
		case <-ctx.Done():
			return nil
		}
	}
}
