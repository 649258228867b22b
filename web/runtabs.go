package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// A run's results are tabs beside its overview (/runs/{run}): Tests,
// Issues and Artifacts, each a page of its own over the API's list with
// the API's filters, sent as a plain GET form (no script needed).

// runTab is what every tab of a run has: the run, its project and the
// tab shown.
type runTab struct {
	Run     *lathe.Run
	Project *projectView
	Tab     string
	// Jobs are the run's job names, for the job filters.
	Jobs []string
}

// loadRunTab reads the run of the path and its project.
func (h *Handler) loadRunTab(r *http.Request, tab string) (runTab, error) {
	id, err := pathInt(r, "run")
	if err != nil {
		return runTab{}, err
	}
	var run lathe.Run
	if _, err := h.call(r, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", id), nil, &run); err != nil {
		return runTab{}, err
	}
	p, err := h.loadProject(r, run.Project)
	if err != nil {
		return runTab{}, err
	}
	t := runTab{Run: &run, Project: p, Tab: tab}
	for _, j := range run.Jobs {
		if !slices.Contains(t.Jobs, j.Name) {
			t.Jobs = append(t.Jobs, j.Name)
		}
	}
	slices.Sort(t.Jobs)
	return t, nil
}

func (t runTab) title(what string) string {
	return fmt.Sprintf("%s · %s #%d · %s", what, t.Run.Pipeline, t.Run.Number, t.Run.Project)
}

// apiQuery copies the named filters of the page's query into the API's
// query; values sent several times (checkboxes) are joined with commas,
// as the API's lists take them.
func apiQuery(r *http.Request, names ...string) url.Values {
	q := r.URL.Query()
	out := url.Values{}
	for _, n := range names {
		var vals []string
		for _, v := range q[n] {
			if v = strings.TrimSpace(v); v != "" {
				vals = append(vals, v)
			}
		}
		if len(vals) > 0 {
			out.Set(n, strings.Join(vals, ","))
		}
	}
	return out
}

// nextPage is the page's own URL with before set to the API's cursor, or
// "" on the last page.
func nextPage(r *http.Request, next *int64) string {
	if next == nil {
		return ""
	}
	q := r.URL.Query()
	q.Set("before", strconv.FormatInt(*next, 10))
	return r.URL.Path + "?" + q.Encode()
}

// choice is one checkbox or option of a filter.
type choice struct {
	Value, Label string
	Checked      bool
}

// choices marks the values of the query's name among values.
func choices(r *http.Request, name string, values ...string) []choice {
	var picked []string
	for _, v := range r.URL.Query()[name] {
		picked = append(picked, strings.Split(v, ",")...)
	}
	out := make([]choice, len(values))
	for i, v := range values {
		out[i] = choice{Value: v, Label: strings.ReplaceAll(v, "_", " "), Checked: slices.Contains(picked, v)}
	}
	return out
}

// testStatusSymbols show a test's status as a symbol and its word; the
// class reuses the run statuses' colours.
var testStatusSymbols = map[string]statusInfo{
	"passed":  {Status: lathe.StatusSuccess, Symbol: "✓", Label: "passed"},
	"failed":  {Status: lathe.StatusFailed, Symbol: "✗", Label: "failed"},
	"error":   {Status: lathe.StatusFailed, Symbol: "⚠", Label: "error"},
	"skipped": {Status: lathe.StatusSkipped, Symbol: "↷", Label: "skipped"},
}

func testStatus(s string) statusInfo {
	if st, ok := testStatusSymbols[s]; ok {
		return st
	}
	return statusInfo{Symbol: "·", Label: s}
}

// testsData is the Tests tab.
type testsData struct {
	runTab
	Tests    lathe.RunTests
	Statuses []choice
	Changes  []choice
	Text     string
	Job      string
	MinInst  string
	MaxInst  string
	Flaky    bool
	Next     string
	Filtered bool
}

// runTests shows a run's test results with the API's filters: status,
// change, instability range, text and job; new failures and fixes stand
// out.
func (h *Handler) runTests(w http.ResponseWriter, r *http.Request) error {
	t, err := h.loadRunTab(r, "tests")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := testsData{runTab: t, Statuses: choices(r, "status", "passed", "failed", "error", "skipped"),
		Changes: choices(r, "change", lathe.ChangeNew, lathe.ChangeFixed, lathe.ChangeSame),
		Text:    q.Get("text"), Job: q.Get("job"), MinInst: q.Get("min_instability"), MaxInst: q.Get("max_instability"),
		Flaky: q.Get("flaky") == "true"}
	aq := apiQuery(r, "status", "change", "text", "job", "min_instability", "max_instability", "flaky")
	d.Filtered = len(aq) > 0
	aq.Set("limit", "100")
	if b := q.Get("before"); b != "" {
		aq.Set("before", b)
	}
	if _, err := h.call(r, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/tests?%s", t.Run.ID, aq.Encode()), nil, &d.Tests); err != nil {
		return err
	}
	d.Next = nextPage(r, d.Tests.Next)
	return h.render(w, r, http.StatusOK, "runtests", t.title("Tests"), h.viewer(r), d)
}

// issuesAnswer is the API's answer to a run's issues.
type issuesAnswer struct {
	Items []*lathe.RunIssue `json:"items"`
	Next  *int64            `json:"next"`
	Total int               `json:"total"`
	New   int               `json:"new"`
}

// issuesData is the Issues tab.
type issuesData struct {
	runTab
	Issues                     issuesAnswer
	Severities                 []choice
	New, File, Message, Symbol string
	Job                        string
	Next                       string
}

// runIssues shows a run's findings with the API's filters.
func (h *Handler) runIssues(w http.ResponseWriter, r *http.Request) error {
	t, err := h.loadRunTab(r, "issues")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := issuesData{runTab: t, Severities: choices(r, "severity", "error", "warning", "note"), New: q.Get("new"),
		File: q.Get("file"), Message: q.Get("message"), Symbol: q.Get("symbol"), Job: q.Get("job")}
	aq := apiQuery(r, "severity", "new", "file", "message", "symbol", "job")
	aq.Set("limit", "100")
	if b := q.Get("before"); b != "" {
		aq.Set("before", b)
	}
	if _, err := h.call(r, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/issues?%s", t.Run.ID, aq.Encode()), nil, &d.Issues); err != nil {
		return err
	}
	d.Next = nextPage(r, d.Issues.Next)
	return h.render(w, r, http.StatusOK, "runissues", t.title("Issues"), h.viewer(r), d)
}

// artifactsData is the Artifacts tab.
type artifactsData struct {
	runTab
	Artifacts []*lathe.Artifact
	Job       string
	// Kept counts the artifacts whose content is still there.
	Kept int
	Size int64
}

// runArtifacts lists a run's artifacts (?job= one job's) with a download
// link each (the API's content route, which the session cookie opens) and
// one for the run's all as a zip.
func (h *Handler) runArtifacts(w http.ResponseWriter, r *http.Request) error {
	t, err := h.loadRunTab(r, "artifacts")
	if err != nil {
		return err
	}
	d := artifactsData{runTab: t, Job: r.URL.Query().Get("job")}
	aq := apiQuery(r, "job")
	var list struct{ Items []*lathe.Artifact }
	path := fmt.Sprintf("/api/v1/runs/%d/artifacts", t.Run.ID)
	if len(aq) > 0 {
		path += "?" + aq.Encode()
	}
	if _, err := h.call(r, http.MethodGet, path, nil, &list); err != nil {
		return err
	}
	d.Artifacts = list.Items
	for _, a := range d.Artifacts {
		if !a.Expired {
			d.Kept++
			d.Size += a.Size
		}
	}
	return h.render(w, r, http.StatusOK, "runartifacts", t.title("Artifacts"), h.viewer(r), d)
}

// resultFuncs are the templates' functions for results: a test's status,
// a size in bytes, a duration in milliseconds.
var resultFuncs = template.FuncMap{
	"testStatus": testStatus,
	"bytes":      byteSize,
	"ms":         func(ms int64) string { return formatDuration(time.Duration(ms) * time.Millisecond) },
}

// byteSize formats a size in bytes as 12 B, 3.4 KiB, 5.6 MiB or 7.8 GiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGT"[exp])
}
