package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A log line about a request names its request ID and the run, job or
// attempt its path names; the answer carries the ID back, a proxy's own
// ID is kept when it is a plain token, and made anew otherwise.
func TestRequestIDsInAnswersAndLogs(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ids := newRequestIDs()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/runs/{id}/jobs/{job}", func(w http.ResponseWriter, r *http.Request) {
		slogFrom(r).Info("looked", "k", "v")
		slogFrom(r).WithGroup("g").Info("grouped", "k", "v")
	})
	mux.HandleFunc("GET /api/v1/agent/attempts/{id}/report", func(w http.ResponseWriter, r *http.Request) {
		slogFrom(r).Info("reported")
	})
	serve := func(path, header string) string {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if header != "" {
			r.Header.Set(RequestIDHeader, header)
		}
		w := httptest.NewRecorder()
		id := ids.of(r)
		w.Header().Set(RequestIDHeader, id)
		r = r.WithContext(withRequestLog(r.Context(), log, id))
		mux.ServeHTTP(w, r)
		return w.Header().Get(RequestIDHeader)
	}

	made := serve("/api/v1/runs/7/jobs/9", "")
	if !strings.HasPrefix(made, ids.prefix) {
		t.Errorf("made request ID %q lacks the server's prefix %q", made, ids.prefix)
	}
	if got := serve("/api/v1/agent/attempts/12/report", "lb-4f2a:1"); got != "lb-4f2a:1" {
		t.Errorf("the proxy's request ID came back as %q", got)
	}
	if got := serve("/api/v1/runs/1/jobs/2", "no spaces allowed"); got == "no spaces allowed" || got == "" {
		t.Errorf("an invalid request ID came back as %q", got)
	}
	out := logs.String()
	for _, want := range []string{
		"msg=looked request_id=" + made + " run_id=7 job_id=9 k=v",
		"msg=grouped request_id=" + made + " run_id=7 job_id=9 g.k=v",
		"msg=reported request_id=lb-4f2a:1 attempt_id=12",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}
