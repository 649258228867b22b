package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/results"
	"github.com/lathe-ci/lathe/store"
)

// runIssues is the answer to a run's issues: a page, and the run's counts.
type runIssues struct {
	Items []*lathe.RunIssue `json:"items"`
	Next  *int64            `json:"next"`
	// Total and New count the whole run's issues, whatever the filters.
	Total int `json:"total"`
	New   int `json:"new"`
}

var severities = []string{results.SeverityError, results.SeverityWarning, results.SeverityNote}

// listRunIssues serves GET /api/v1/runs/{run}/issues.
func (s *Server) listRunIssues(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "run")
	if err != nil {
		return err
	}
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.IssueFilter{RunID: id, Before: before, Limit: limit, File: q.Get("file"), Message: q.Get("message"),
		Symbol: q.Get("symbol"), Job: q.Get("job")}
	if f.Severities, err = queryList(r, "severity", severities); err != nil {
		return err
	}
	if f.New, err = queryBool(r, "new"); err != nil {
		return err
	}
	p, total, fresh, err := s.store.RunIssues(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, runIssues{Items: p.Items, Next: p.Next, Total: total, New: fresh})
	return nil
}
