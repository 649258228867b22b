package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	lathe "github.com/lathe-ci/lathe"
)

// testCaseData is a test case's page: its results across runs, its
// instability now, and its comments.
type testCaseData struct {
	History  lathe.TestHistory
	Comments []*lathe.TestComment
	// Project and Run are the project and newest run of the history (nil
	// when it has none to show).
	Project *projectView
	Run     *lathe.Run
	Branch  string
	Next    string
	// Instability and Status are the newest result's.
	Instability int
	Status      string
	Strip       historyStrip
	States      []string
	// CanComment is write on the project; FormError the API's refusal of
	// the last comment sent, FormText and FormState what it said.
	CanComment          bool
	FormError           *Error
	FormText, FormState string
}

// testCase shows a test case's history (?branch= one branch's, a page of
// 50 at a time), its instability and its comments, with a form to add
// one for those who may.
func (h *Handler) testCase(w http.ResponseWriter, r *http.Request) error {
	return h.testCasePage(w, r, nil)
}

func (h *Handler) testCasePage(w http.ResponseWriter, r *http.Request, formErr *Error) error {
	id, err := pathInt(r, "test_case")
	if err != nil {
		return err
	}
	d := testCaseData{Branch: r.URL.Query().Get("branch"), States: lathe.TestCaseStates, FormError: formErr}
	if formErr != nil {
		d.FormText, d.FormState = r.PostFormValue("text"), r.PostFormValue("state")
	}
	q := url.Values{"limit": {"50"}}
	if d.Branch != "" {
		q.Set("branch", d.Branch)
	}
	if b := r.URL.Query().Get("before"); b != "" {
		q.Set("before", b)
	}
	if _, err := h.call(r, http.MethodGet, fmt.Sprintf("/api/v1/test-cases/%d/history?%s", id, q.Encode()), nil, &d.History); err != nil {
		return err
	}
	var comments lathe.Page[*lathe.TestComment]
	if _, err := h.call(r, http.MethodGet, fmt.Sprintf("/api/v1/test-cases/%d/comments?limit=100", id), nil, &comments); err != nil {
		return err
	}
	d.Comments = comments.Items
	d.Next = nextPage(r, d.History.Next)
	if len(d.History.Items) > 0 {
		newest := d.History.Items[0]
		d.Instability, d.Status = newest.Instability, newest.Status
		var run lathe.Run
		if _, err := h.call(r, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", newest.RunID), nil, &run); err != nil {
			return err
		}
		d.Run = &run
		if d.Project, err = h.loadProject(r, run.Project); err != nil {
			return err
		}
		d.CanComment = d.Project.CanWrite()
	}
	oldestFirst := slices.Clone(d.History.Items)
	slices.Reverse(oldestFirst)
	d.Strip = layoutStrip(oldestFirst)
	status := http.StatusOK
	if formErr != nil {
		status = formErr.Status
	}
	tc := d.History.TestCase
	return h.render(w, r, status, "testcase", fmt.Sprintf("%s · %s", tc.Name, tc.Suite), h.viewer(r), d)
}

// addTestComment posts the comment form to the API as the user (the API
// decides whether the user may, and names the author) and goes back to
// the comments; a comment the API refuses shows again with its reason.
func (h *Handler) addTestComment(w http.ResponseWriter, r *http.Request) error {
	if err := checkCSRF(r); err != nil {
		return err
	}
	id, err := pathInt(r, "test_case")
	if err != nil {
		return err
	}
	in := map[string]string{"text": r.PostFormValue("text"), "state": r.PostFormValue("state")}
	_, err = h.call(r, http.MethodPost, fmt.Sprintf("/api/v1/test-cases/%d/comments", id), in, nil)
	if e, ok := err.(*Error); ok && e.Status == http.StatusBadRequest {
		return h.testCasePage(w, r, e)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/test-cases/%d#comments", id), http.StatusSeeOther)
	return nil
}
