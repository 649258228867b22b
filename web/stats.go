package web

import (
	"net/http"
	"net/url"

	lathe "github.com/lathe-ci/lathe"
)

// statsData is a branch's statistics page.
type statsData struct {
	Project               *projectView
	Branch, Pipeline, Job string
	Stats                 lathe.RunStats
	Chart                 durationChart
	Times                 lathe.BuildTimes
}

// stats shows a branch's statistics (Kraken's branch stats): runs in
// total, last week and last month, mean durations, the duration of the
// last runs as a chart drawn here, and the build times of its jobs (?job=
// one job's) with percentiles. The branch is ?branch=, else the project's
// default; ?pipeline= keeps one pipeline's runs.
func (h *Handler) stats(w http.ResponseWriter, r *http.Request) error {
	p, err := h.loadProject(r, r.PathValue("project"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := statsData{Project: p, Branch: q.Get("branch"), Pipeline: q.Get("pipeline"), Job: q.Get("job")}
	if d.Branch == "" {
		d.Branch = p.DefaultBranch
	}
	sq := url.Values{"branch": {d.Branch}}
	if d.Pipeline != "" {
		sq.Set("pipeline", d.Pipeline)
	}
	if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "stats")+"?"+sq.Encode(), nil, &d.Stats); err != nil {
		return err
	}
	d.Chart = newDurationChart(d.Stats.Durations)
	if d.Job != "" {
		sq.Set("job", d.Job)
	}
	sq.Set("limit", "1000")
	if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "build-times")+"?"+sq.Encode(), nil, &d.Times); err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "stats", "Statistics of "+d.Branch+" · "+p.Name, h.viewer(r), d)
}
