package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

type runData struct {
	Run     *lathe.Run
	Project *projectView
	Graph   graph
	// Stages are the run's stages in order, each with its jobs.
	Stages []stageJobs
	// Which run actions the caller may take now.
	CanCancel, CanRerun, CanRerunFailed, CanApproveRun, CanWrite bool
	// Tab is the run's tab shown: "" for this overview (see runTab).
	Tab string
}

type stageJobs struct {
	Stage *lathe.Stage
	Jobs  []jobRow
}

// jobRow is a job as its row shows it, worked out once here rather than
// by template calls per job (a run may have hundreds).
type jobRow struct {
	*lathe.Job
	St       statusInfo
	Dur      string
	NeedList string
	Gate     bool // waiting for a decision the caller may make
}

func pathInt(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, &Error{Status: http.StatusNotFound, Detail: fmt.Sprintf("%q is not a %s number.", r.PathValue(name), name)}
	}
	return id, nil
}

// run shows a run: stages in order, the job graph, statuses and durations
// (kept live by the script), and the actions the caller's role allows.
func (h *Handler) run(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "run")
	if err != nil {
		return err
	}
	user := h.viewer(r)
	var run lathe.Run
	if _, err := h.call(r, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", id), nil, &run); err != nil {
		return err
	}
	p, err := h.loadProject(r, run.Project)
	if err != nil {
		return err
	}
	d := newRunData(&run, p)
	for _, st := range d.Stages {
		for i := range st.Jobs {
			// Gates only for those who may answer them (a second person, the approvers).
			st.Jobs[i].Gate = st.Jobs[i].Gate && h.mayDecide(r, user, p, st.Jobs[i].Job.Approval)
		}
	}
	return h.render(w, r, http.StatusOK, "run", fmt.Sprintf("%s #%d · %s", run.Pipeline, run.Number, run.Project), user, d)
}

func newRunData(run *lathe.Run, p *projectView) runData {
	d := runData{Run: run, Project: p, Graph: layoutGraph(run), CanWrite: p.CanWrite()}
	byStage := map[int64][]jobRow{}
	for _, j := range run.Jobs {
		byStage[j.StageID] = append(byStage[j.StageID], jobRow{Job: j, St: status(j.Status), Dur: duration(j.DurationMS),
			NeedList: strings.Join(j.Needs, ", "), Gate: d.CanWrite && j.Status == lathe.StatusWaiting && j.Approval != nil})
	}
	stages := slices.Clone(run.Stages)
	slices.SortStableFunc(stages, func(a, b *lathe.Stage) int { return a.Position - b.Position })
	for _, s := range stages {
		d.Stages = append(d.Stages, stageJobs{Stage: s, Jobs: byStage[s.ID]})
	}
	if d.CanWrite {
		terminal := run.Status.Terminal()
		d.CanCancel = !terminal
		d.CanRerun = terminal
		d.CanRerunFailed = terminal && run.Status != lathe.StatusSuccess
		d.CanApproveRun = run.Untrusted && !terminal
	}
	return d
}

// runActions and jobActions are the API's actions a form may ask for.
var (
	runActions = []string{"cancel", "rerun", "rerun-failed", "approve"}
	jobActions = []string{"cancel", "rerun", "approve", "reject"}
)

func (h *Handler) runAction(w http.ResponseWriter, r *http.Request) error {
	return h.act(w, r, "run", "runs", runActions)
}

func (h *Handler) jobAction(w http.ResponseWriter, r *http.Request) error {
	return h.act(w, r, "job", "jobs", jobActions)
}

// act posts a form's action to the API as the user (the API decides
// whether the user may) and goes to the run it made, or back to the
// page it came from.
func (h *Handler) act(w http.ResponseWriter, r *http.Request, param, collection string, allowed []string) error {
	if err := checkCSRF(r); err != nil {
		return err
	}
	id, err := pathInt(r, param)
	if err != nil {
		return err
	}
	action := r.PathValue("action")
	if !slices.Contains(allowed, action) {
		return &Error{Status: http.StatusNotFound, Detail: fmt.Sprintf("There is no action %q on a %s.", action, param)}
	}
	var out struct {
		ID    int64 `json:"id"`
		RunID int64 `json:"run_id"`
	}
	var body any
	if action == "reject" {
		body = map[string]string{"comment": r.PostFormValue("comment")} // why, kept with the job
	}
	hdr, err := h.call(r, http.MethodPost, fmt.Sprintf("/api/v1/%s/%d/%s", collection, id, action), body, &out)
	if err != nil {
		return err
	}
	back := fmt.Sprintf("/%s/%d", collection, id)
	if b := r.PostFormValue("back"); b != "" {
		back = safeNext(b) // a job's gate decided on the run page goes back there
	}
	if hdr.Get("Location") != "" && (action == "rerun" || action == "rerun-failed") {
		back = fmt.Sprintf("/runs/%d", out.ID) // the new run
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}
