package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/results"
)

// reportReply answers an agent's report file: how many entries it gave,
// or the warning recorded on the job when it could not be read.
type reportReply struct {
	Kind    string `json:"kind"`
	File    string `json:"file"`
	Entries int    `json:"entries"`
	Warning string `json:"warning"`
}

// putReport serves PUT /api/v1/agent/attempts/{attempt}/reports/{kind}?file=:
// the body is one file the job's `reports:` names (kind junit or issues),
// parsed here. A file that cannot be read (malformed, too large) is a
// warning on the job, recorded and answered with 200: a broken report
// never fails the job or the request.
func (s *Server) putReport(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "attempt")
	if err != nil {
		return err
	}
	kind, file := r.PathValue("kind"), r.URL.Query().Get("file")
	if kind != "junit" && kind != "issues" {
		return problemf(http.StatusBadRequest, "kind: %q is not a report kind (junit, issues)", kind)
	}
	if file == "" || len(file) > 4096 {
		return problemf(http.StatusBadRequest, "file: required, the report's path in the workspace (at most 4096 bytes)")
	}
	sc, err := s.store.AttemptScope(r.Context(), principal(r.Context()).Agent.ID, id)
	if err != nil {
		return attemptProblem(w, id, err)
	}
	reply := reportReply{Kind: kind, File: file}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, lathe.MaxReportBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		reply.Warning = fmt.Sprintf("%s: larger than %d bytes; not read", file, lathe.MaxReportBytes)
	case err != nil:
		return problemf(http.StatusBadRequest, "reading the report: %v", err)
	}
	if reply.Warning == "" {
		reply.Entries, reply.Warning, err = s.storeReport(r, sc.JobID, kind, file, data)
		if err != nil {
			return err
		}
	}
	if reply.Warning != "" {
		if err := s.store.AddReport(r.Context(), sc.JobID, kind, file, 0, reply.Warning); err != nil {
			return err
		}
		slogFrom(r).Info("report not read", "job_id", sc.JobID, "attempt", id, "file", file, "warning", reply.Warning)
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// storeReport parses and stores one report file; a file it cannot parse
// comes back as a warning naming the file and the problem.
func (s *Server) storeReport(r *http.Request, jobID int64, kind, file string, data []byte) (int, string, error) {
	if kind == "junit" {
		cases, err := results.ParseJUnit(data)
		if err != nil {
			return 0, fmt.Sprintf("%s: %v", file, err), nil
		}
		in := make([]lathe.TestResultInput, len(cases))
		for i, c := range cases {
			in[i] = lathe.TestResultInput{Suite: c.Suite, Name: c.Name, Status: c.Status, DurationMS: c.DurationMS, Message: c.Message, Flaky: c.Flaky}
		}
		return len(in), "", s.store.AddTestResults(r.Context(), jobID, file, in)
	}
	issues, err := results.ParseIssues(data)
	if err != nil {
		return 0, fmt.Sprintf("%s: %v", file, err), nil
	}
	in := make([]lathe.IssueInput, len(issues))
	for i, is := range issues {
		in[i] = lathe.IssueInput{File: is.File, Line: is.Line, Column: is.Column, Severity: is.Severity, Message: is.Message,
			Symbol: is.Symbol, Fingerprint: is.Fingerprint()}
	}
	return len(in), "", s.store.AddIssues(r.Context(), jobID, file, in)
}
