package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// homeLimit bounds the projects and the active runs the home page lists.
const homeLimit = 50

type homeProject struct {
	Project *lathe.Project
	Last    *lathe.Run // the last run on the default branch, or nil
}

type activeRun struct {
	Run *lathe.Run
	// Waiting says what the run waits for, when it is not simply running.
	Waiting string
}

type homeData struct {
	Projects []homeProject
	// More is the URL of the next page of projects, "" on the last.
	More   string
	Active []activeRun
}

// home lists the projects the user can see, each with the last run on its
// default branch, and the runs going or waiting right now with why they wait.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) error {
	user := h.viewer(r)
	var d homeData
	var projects lathe.Page[*lathe.Project]
	pq := url.Values{"limit": {strconv.Itoa(homeLimit)}}
	if b := r.URL.Query().Get("before"); b != "" {
		pq.Set("before", b)
	}
	if _, err := h.call(r, http.MethodGet, "/api/v1/projects?"+pq.Encode(), nil, &projects); err != nil {
		return err
	}
	d.More = nextPage(r, projects.Next)
	for _, p := range projects.Items {
		var runs lathe.Page[*lathe.Run]
		q := url.Values{"branch": {p.DefaultBranch}, "pull_request": {"none"}, "limit": {"1"}}
		if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "runs")+"?"+q.Encode(), nil, &runs); err != nil {
			return err
		}
		hp := homeProject{Project: p}
		if len(runs.Items) > 0 {
			hp.Last = runs.Items[0]
		}
		d.Projects = append(d.Projects, hp)
	}
	active, err := h.activeRuns(r)
	if err != nil {
		return err
	}
	d.Active = active
	return h.render(w, r, http.StatusOK, "home", "Projects", user, d)
}

// activeRuns are the runs not yet finished, newest first, each with what it waits for.
func (h *Handler) activeRuns(r *http.Request) ([]activeRun, error) {
	var runs []*lathe.Run
	for _, st := range []lathe.Status{lathe.StatusRunning, lathe.StatusWaiting, lathe.StatusQueued, lathe.StatusPending} {
		var page lathe.Page[*lathe.Run]
		if _, err := h.call(r, http.MethodGet, fmt.Sprintf("/api/v1/runs?status=%s&limit=%d", st, homeLimit), nil, &page); err != nil {
			return nil, err
		}
		runs = append(runs, page.Items...)
	}
	slices.SortFunc(runs, func(a, b *lathe.Run) int { return int(b.ID - a.ID) })
	if len(runs) > homeLimit {
		runs = runs[:homeLimit]
	}
	out := make([]activeRun, 0, len(runs))
	for _, run := range runs {
		full := run
		var detail lathe.Run
		if _, err := h.call(r, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", run.ID), nil, &detail); err == nil {
			full = &detail
		}
		out = append(out, activeRun{Run: full, Waiting: waitReason(full)})
	}
	return out, nil
}

// waitReason says what keeps a run from going on: approvals, trust, or an agent.
func waitReason(run *lathe.Run) string {
	var gates, queued, reasons []string
	running := false
	for _, j := range run.Jobs {
		switch j.Status {
		case lathe.StatusWaiting:
			gates = append(gates, j.Name)
		case lathe.StatusQueued:
			queued = append(queued, j.Name)
			if j.WaitReason != "" && !slices.Contains(reasons, j.WaitReason) {
				reasons = append(reasons, j.WaitReason)
			}
		case lathe.StatusRunning:
			running = true
		}
	}
	var parts []string
	if len(gates) > 0 {
		if run.Untrusted && run.Status == lathe.StatusWaiting {
			parts = append(parts, "waiting for a user with write to approve this untrusted commit")
		} else {
			parts = append(parts, "waiting for approval of "+strings.Join(gates, ", "))
		}
	}
	if len(queued) > 0 && !running {
		msg := "waiting for an agent for " + strings.Join(queued, ", ")
		if len(reasons) > 0 {
			msg += " (" + strings.Join(reasons, "; ") + ")"
		}
		parts = append(parts, msg)
	}
	return strings.Join(parts, "; ")
}
