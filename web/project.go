package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// projectView is the API's answer for one project: the project and the
// caller's role on it, which decides the forms the page offers.
type projectView struct {
	lathe.Project
	Role lathe.Role `json:"role"`
}

// can says whether the role includes want.
func (p *projectView) can(want lathe.Role) bool { return p.Role.Rank() >= want.Rank() }

// CanWrite and IsOwner are what the templates ask.
func (p *projectView) CanWrite() bool { return p.can(lathe.RoleWrite) }
func (p *projectView) IsOwner() bool  { return p.can(lathe.RoleOwner) }

type pipelineParam struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Description string   `json:"description"`
	Default     *string  `json:"default"`
	Choices     []string `json:"choices"`
	Required    bool     `json:"required"`
}

type pipelineInfo struct {
	Name   string          `json:"name"`
	File   string          `json:"file"`
	Commit string          `json:"commit"`
	Params []pipelineParam `json:"params"`
}

// runEvents are the events a run can start by, for the filter.
var runEvents = []string{"push", "pull_request", "tag", "manual", "schedule", "pipeline", "rerun"}

type branchRun struct {
	Branch string
	Run    *lathe.Run
}

type runFilter struct{ Pipeline, Branch, Status, Event string }

type projectData struct {
	Project      *projectView
	Runs         []*lathe.Run
	Next         string // the URL of the next page of runs, "" on the last
	Filter       runFilter
	Statuses     []lathe.Status
	Events       []string
	Branches     []branchRun
	ConfigErrors []lathe.ConfigErrors
}

type triggerData struct {
	Project      *projectView
	Pipelines    []pipelineInfo
	PipelinesErr string
	FormError    *Error
	// Sent is the form the API refused, shown again as it was filled in.
	Sent *runRequest
}

// runRequest is what the run form sends the API.
type runRequest struct {
	Ref      string            `json:"ref,omitempty"`
	Pipeline string            `json:"pipeline,omitempty"`
	Params   map[string]string `json:"params,omitempty"`
}

// Ref is the ref the form of pipeline pl shows: the one sent, or the
// default branch.
func (d triggerData) Ref(pl pipelineInfo) string {
	if d.Sent != nil && d.Sent.Pipeline == pl.Name {
		return d.Sent.Ref
	}
	return d.Project.DefaultBranch
}

// Value is the value the form of pipeline pl shows for param: the one
// sent, or its default.
func (d triggerData) Value(pl pipelineInfo, param pipelineParam) string {
	if d.Sent != nil && d.Sent.Pipeline == pl.Name {
		if v, ok := d.Sent.Params[param.Name]; ok {
			return v
		}
	}
	if param.Default != nil {
		return *param.Default
	}
	return ""
}

// loadProject reads the project and the caller's role on it.
func (h *Handler) loadProject(r *http.Request, name string) (*projectView, error) {
	var p projectView
	_, err := h.call(r, http.MethodGet, apiPath("projects", name), nil, &p)
	return &p, err
}

// project renders the project: its runs (filtered, a page at a time),
// branches and config errors. The run form is a page of its own
// (runForm): it reads the pipelines from git, which the runs list should
// not wait for.
func (h *Handler) project(w http.ResponseWriter, r *http.Request) error {
	user := h.viewer(r)
	p, err := h.loadProject(r, r.PathValue("project"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := projectData{Project: p, Statuses: lathe.Statuses, Events: runEvents,
		Filter: runFilter{Pipeline: q.Get("pipeline"), Branch: q.Get("branch"), Status: q.Get("status"), Event: q.Get("event")}}
	aq := url.Values{"limit": {"50"}}
	for k, v := range map[string]string{"pipeline": d.Filter.Pipeline, "branch": d.Filter.Branch, "status": d.Filter.Status, "event": d.Filter.Event, "before": q.Get("before")} {
		if v != "" {
			aq.Set(k, v)
		}
	}
	var runs lathe.Page[*lathe.Run]
	if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "runs")+"?"+aq.Encode(), nil, &runs); err != nil {
		return err
	}
	d.Runs = runs.Items
	if runs.Next != nil {
		nq := r.URL.Query()
		nq.Set("before", strconv.FormatInt(*runs.Next, 10))
		d.Next = "/p/" + url.PathEscape(p.Name) + "?" + nq.Encode()
	}
	if d.Branches, err = h.branchRuns(r, p.Name); err != nil {
		return err
	}
	var ces struct{ Items []lathe.ConfigErrors }
	if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "config-errors"), nil, &ces); err != nil {
		return err
	}
	d.ConfigErrors = ces.Items
	return h.render(w, r, http.StatusOK, "project", p.Name, user, d)
}

func (h *Handler) runForm(w http.ResponseWriter, r *http.Request) error {
	return h.runFormPage(w, r, nil, nil)
}

// runFormPage offers a form per pipeline at the default branch, with its
// parameters (types, choices, defaults); formErr is the API's refusal of
// sent, the last one sent.
func (h *Handler) runFormPage(w http.ResponseWriter, r *http.Request, formErr *Error, sent *runRequest) error {
	user := h.viewer(r)
	p, err := h.loadProject(r, r.PathValue("project"))
	if err != nil {
		return err
	}
	if !p.CanWrite() {
		return &Error{Status: http.StatusForbidden, Detail: fmt.Sprintf("Running a pipeline of %s needs the write role; you have %s.", p.Name, roleWord(p.Role))}
	}
	d := triggerData{Project: p, FormError: formErr, Sent: sent}
	var pls struct{ Items []pipelineInfo }
	if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "pipelines"), nil, &pls); err != nil {
		d.PipelinesErr = errText(err)
	}
	d.Pipelines = pls.Items
	status := http.StatusOK
	if formErr != nil {
		status = formErr.Status
	}
	return h.render(w, r, status, "trigger", "Run a pipeline of "+p.Name, user, d)
}

// shownBranches is how many branches the project page lists.
const shownBranches = 10

// branchRuns is the newest run of each of the project's most recently seen
// branches: what the branch is at, whatever page or filter of the runs the
// page shows.
func (h *Handler) branchRuns(r *http.Request, project string) ([]branchRun, error) {
	var branches lathe.Page[*lathe.Branch]
	if _, err := h.call(r, http.MethodGet, apiPath("projects", project, "branches")+"?limit="+strconv.Itoa(shownBranches), nil, &branches); err != nil {
		return nil, err
	}
	var out []branchRun
	for _, b := range branches.Items {
		var runs lathe.Page[*lathe.Run]
		q := url.Values{"branch": {b.Name}, "limit": {"1"}}
		if _, err := h.call(r, http.MethodGet, apiPath("projects", project, "runs")+"?"+q.Encode(), nil, &runs); err != nil {
			return nil, err
		}
		if len(runs.Items) > 0 {
			out = append(out, branchRun{Branch: b.Name, Run: runs.Items[0]})
		}
	}
	return out, nil
}

func errText(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Detail
	}
	return err.Error()
}

// triggerRun starts a run from the "Run pipeline" form: its pipeline, ref
// and the fields param.NAME; the API checks the values against the
// pipeline's parameters.
func (h *Handler) triggerRun(w http.ResponseWriter, r *http.Request) error {
	if err := checkCSRF(r); err != nil {
		return err
	}
	in := runRequest{Ref: strings.TrimSpace(r.PostFormValue("ref")), Pipeline: r.PostFormValue("pipeline"), Params: map[string]string{}}
	for k, v := range r.PostForm {
		if name, ok := strings.CutPrefix(k, "param."); ok && len(v) > 0 {
			in.Params[name] = v[len(v)-1]
		}
	}
	var run lathe.Run
	_, err := h.call(r, http.MethodPost, apiPath("projects", r.PathValue("project"), "runs"), in, &run)
	if e, ok := err.(*Error); ok && e.Status != http.StatusUnauthorized && e.Status != http.StatusForbidden && e.Status != http.StatusNotFound {
		return h.runFormPage(w, r, e, &in)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/runs/%d", run.ID), http.StatusSeeOther)
	return nil
}
