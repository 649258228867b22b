package web

import (
	"fmt"
	"net/http"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
)

type stepView struct {
	Index    int
	Name     string
	Step     *lathe.Step // nil until the step starts
	Start    string      // its first log byte, "" while unknown
	End      string
	ExitCode string
}

type jobData struct {
	Job     *lathe.Job
	Run     *lathe.Run
	Attempt *lathe.Attempt // the attempt shown, nil before the first claim
	Steps   []stepView
	// Stream and Raw are the API's live log stream and raw bytes of the attempt.
	Stream, Raw string
	CanWrite    bool
	CanCancel   bool
	CanRerun    bool
	CanDecide   bool // approve or reject the job's gate
}

// job shows a job: its attempts (why each ended), and the shown attempt's
// steps and log, which the script fills and follows live.
func (h *Handler) job(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "job")
	if err != nil {
		return err
	}
	user := h.viewer(r)
	var job lathe.Job
	if _, err := h.call(r, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d", id), nil, &job); err != nil {
		return err
	}
	var run lathe.Run
	if _, err := h.call(r, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", job.RunID), nil, &run); err != nil {
		return err
	}
	p, err := h.loadProject(r, run.Project)
	if err != nil {
		return err
	}
	d := jobData{Job: &job, Run: &run, CanWrite: p.CanWrite()}
	if d.CanWrite {
		d.CanCancel = !job.Status.Terminal()
		d.CanRerun = job.Status.Terminal()
		d.CanDecide = job.Status == lathe.StatusWaiting && h.mayDecide(r, user, p, job.Approval)
	}
	if n := len(job.Attempts); n > 0 {
		d.Attempt = job.Attempts[n-1]
		if s := r.URL.Query().Get("attempt"); s != "" {
			want, _ := strconv.Atoi(s)
			d.Attempt = nil
			for _, a := range job.Attempts {
				if a.Number == want {
					d.Attempt = a
				}
			}
			if d.Attempt == nil {
				return &Error{Status: http.StatusNotFound, Detail: fmt.Sprintf("Job %d has no attempt %q.", id, s)}
			}
		}
	}
	d.Steps = jobSteps(d.Attempt)
	q := ""
	if d.Attempt != nil {
		q = fmt.Sprintf("?attempt=%d", d.Attempt.Number)
	}
	d.Stream = fmt.Sprintf("/api/v1/jobs/%d/log/stream%s", id, q)
	d.Raw = fmt.Sprintf("/api/v1/jobs/%d/log%s", id, q)
	return h.render(w, r, http.StatusOK, "job", fmt.Sprintf("%s · %s #%d", job.Name, run.Pipeline, run.Number), user, d)
}

// jobSteps lists the steps the attempt has started, with their exit codes
// and log ranges (the script adds the ones that start while it follows).
func jobSteps(a *lathe.Attempt) []stepView {
	if a == nil {
		return nil
	}
	var out []stepView
	for _, s := range a.Steps {
		v := stepView{Index: s.Index, Name: s.Name, Step: s, Start: strconv.FormatInt(s.LogStart, 10)}
		if s.LogEnd != nil {
			v.End = strconv.FormatInt(*s.LogEnd, 10)
		}
		if s.ExitCode != nil {
			v.ExitCode = strconv.Itoa(*s.ExitCode)
		}
		out = append(out, v)
	}
	return out
}
