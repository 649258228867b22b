package api

import (
	"net/http"
	"slices"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/results"
	"github.com/lathe-ci/lathe/store"
)

// Test results (issue 17): a run's results with Kraken's filters, a test
// case's history across runs and its comments.

var (
	testStatuses = []string{results.Passed, results.Failed, results.Error, results.Skipped}
	testChanges  = []string{lathe.ChangeNew, lathe.ChangeFixed, lathe.ChangeSame}
)

// queryList reads a comma-separated query parameter whose values must be
// among allowed.
func queryList(r *http.Request, name string, allowed []string) ([]string, error) {
	v := queryValue(r, name)
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if !slices.Contains(allowed, item) {
			return nil, problemf(http.StatusBadRequest, "query parameter %s: %q is not one of %s", name, item, strings.Join(allowed, ", "))
		}
		out = append(out, item)
	}
	return out, nil
}

// listRunTests serves GET /api/v1/runs/{run}/tests.
func (s *Server) listRunTests(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "run")
	if err != nil {
		return err
	}
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	f := store.TestFilter{RunID: id, Before: before, Limit: limit, Text: r.URL.Query().Get("text"), Job: r.URL.Query().Get("job")}
	if f.Statuses, err = queryList(r, "status", testStatuses); err != nil {
		return err
	}
	if f.Changes, err = queryList(r, "change", testChanges); err != nil {
		return err
	}
	lo, err := queryInt(r, "min_instability", 0, 0, 9)
	if err != nil {
		return err
	}
	hi, err := queryInt(r, "max_instability", -1, 0, 9)
	if err != nil {
		return err
	}
	f.MinInstability, f.MaxInstability = int(lo), int(hi)
	if f.Flaky, err = queryBool(r, "flaky"); err != nil {
		return err
	}
	tests, err := s.store.RunTests(r.Context(), f)
	return respond(w, http.StatusOK, tests, err)
}

// testCaseHistory serves GET /api/v1/test-cases/{test_case}/history.
func (s *Server) testCaseHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "test_case")
	if err != nil {
		return err
	}
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	h, err := s.store.TestCaseHistory(r.Context(), id, r.URL.Query().Get("branch"), before, limit)
	return respond(w, http.StatusOK, h, err)
}

// listTestComments serves GET /api/v1/test-cases/{test_case}/comments.
func (s *Server) listTestComments(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "test_case")
	if err != nil {
		return err
	}
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	list, err := s.store.TestComments(r.Context(), id, before, limit)
	return respond(w, http.StatusOK, list, err)
}

// commentInput is the body of a new test case comment.
type commentInput struct {
	Text string `json:"text"`
	// State is one of lathe.TestCaseStates; open when absent.
	State string `json:"state"`
}

// maxCommentBytes bounds a comment's text.
const maxCommentBytes = 16 << 10

// addTestComment serves POST /api/v1/test-cases/{test_case}/comments: the
// author is the caller, never a field of the body.
func (s *Server) addTestComment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "test_case")
	if err != nil {
		return err
	}
	var in commentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Text) == "" {
		return problemf(http.StatusBadRequest, "text: required, the comment itself")
	}
	if len(in.Text) > maxCommentBytes {
		return problemf(http.StatusBadRequest, "text: %d bytes; a comment holds at most %d", len(in.Text), maxCommentBytes)
	}
	if in.State == "" {
		in.State = lathe.TestCaseStates[0]
	}
	if !slices.Contains(lathe.TestCaseStates, in.State) {
		return problemf(http.StatusBadRequest, "state: %q is not one of %s", in.State, strings.Join(lathe.TestCaseStates, ", "))
	}
	c := &lathe.TestComment{TestCaseID: id, Author: principal(r.Context()).User, State: in.State, Text: in.Text}
	if err := s.store.AddTestComment(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// runHistory serves the results history up to a run (Kraken's flow
// history): the run and the runs of its pipeline on its branch before it,
// newest first, each with its test totals.
func (s *Server) runHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "run")
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 20, 1, 100)
	if err != nil {
		return err
	}
	h, err := s.store.RunHistory(r.Context(), id, int(limit))
	return respond(w, http.StatusOK, runHistoryList{Items: h}, err)
}

// runHistoryList is the results history up to a run.
type runHistoryList struct {
	Items []*lathe.RunResults `json:"items"`
}
