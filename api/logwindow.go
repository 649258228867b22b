package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
)

// logWindow is the part of an attempt's log a read is about: the whole
// log, or one step's bytes (Kraken's per-step logs).
type logWindow struct {
	start int64
	// end is where the window ends, or -1 while it is still growing (the
	// whole log, or a step that has not finished).
	end int64
}

// stepWindow is step n's window of the attempt's log (n < 0: the whole
// log). Step 0 is the checkout; the pipeline's steps follow.
func stepWindow(job *lathe.Job, a *lathe.Attempt, n int64) (logWindow, error) {
	if n < 0 {
		return logWindow{end: -1}, nil
	}
	if st := stepOf(a, n); st != nil {
		return windowOf(st), nil
	}
	return logWindow{}, problemf(http.StatusNotFound, "attempt %d of job %d has no step %d yet (it has %d; step 0 is the checkout)",
		a.Number, job.ID, n, len(a.Steps))
}

// stepOf is the attempt's step n, or nil when it has not started.
func stepOf(a *lathe.Attempt, n int64) *lathe.Step {
	for _, st := range a.Steps {
		if int64(st.Index) == n {
			return st
		}
	}
	return nil
}

// windowOf is a step's window: open until the step's end is known.
func windowOf(st *lathe.Step) logWindow {
	w := logWindow{start: st.LogStart, end: -1}
	if st.LogEnd != nil {
		w.end = *st.LogEnd
	}
	return w
}

// size is how many bytes the window holds so far.
func (w logWindow) size(a *lathe.Attempt) int64 {
	if w.end >= 0 {
		return w.end - w.start
	}
	return max(a.LogSize-w.start, 0)
}

// final reports whether the window will not grow any more.
func (w logWindow) final(a *lathe.Attempt) bool {
	return w.end >= 0 || a.Status.Terminal()
}

// readWindow reads up to limit bytes of the window from off (counted
// from the window's start), with the attempt as it now is.
func (s *Server) readWindow(r *http.Request, a *lathe.Attempt, w logWindow, off, limit int64) ([]byte, *lathe.Attempt, error) {
	if w.end >= 0 {
		limit = min(limit, w.end-w.start-off)
	}
	if limit <= 0 {
		return []byte{}, a, nil
	}
	return s.store.ReadLog(r.Context(), a.ID, w.start+off, limit)
}
