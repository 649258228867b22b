package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// The CD pages: what runs where (environments × candidates), one
// environment's deployment history with its gates, and one release with its
// candidates and their deployments. Buttons (approve, reject with a
// comment, promote, roll back) appear only to those the API would let act.

// envRow is one environment on the what-runs-where page.
type envRow struct {
	Env     *lathe.Environment
	Current *lathe.Deployment
	// CanPromote: write, something promotable runs here, and an
	// environment with a deploy pipeline follows.
	CanPromote  bool
	CanRollback bool // write, and the environment has a deploy pipeline
}

// canPromote says whether the next environment after e runs deployments
// (has a deploy pipeline): a promotion to one reported from outside, or to
// none, is always refused.
func canPromote(envs []*lathe.Environment, e *lathe.Environment) bool {
	next := lathe.NextEnvironment(envs, e)
	return next != nil && next.DeployPipeline != ""
}

// candidateRow is one candidate and, per environment in order, whether it
// is what runs there.
type candidateRow struct {
	Candidate *lathe.Candidate
	Release   string
	Here      []bool
}

type environmentsData struct {
	Project    *projectView
	Rows       []envRow
	Candidates []candidateRow
	CanWrite   bool
}

// maxMatrixCandidates bounds the candidates the matrix shows, newest first.
const maxMatrixCandidates = 30

// environments shows what runs where: each environment with its current
// deployment, and the recent candidates against the environments.
func (h *Handler) environments(w http.ResponseWriter, r *http.Request) error {
	user := h.viewer(r)
	p, err := h.loadProject(r, r.PathValue("project"))
	if err != nil {
		return err
	}
	var envs struct{ Items []*lathe.Environment }
	if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "environments"), nil, &envs); err != nil {
		return err
	}
	var matrix struct{ Items []*lathe.MatrixRow }
	if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "deployments"), nil, &matrix); err != nil {
		return err
	}
	var releases struct{ Items []*lathe.Release }
	if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "releases"), nil, &releases); err != nil {
		return err
	}
	current := map[string]*lathe.Deployment{}
	for _, m := range matrix.Items {
		current[m.Environment] = m.Current
	}
	d := environmentsData{Project: p, CanWrite: p.CanWrite()}
	for _, e := range envs.Items {
		row := envRow{Env: e, Current: current[e.Name], CanRollback: d.CanWrite && e.DeployPipeline != ""}
		row.CanPromote = d.CanWrite && row.Current != nil && row.Current.Version != "" && canPromote(envs.Items, e)
		d.Rows = append(d.Rows, row)
	}
	for _, rl := range releases.Items {
		for _, c := range slices.Backward(rl.Candidates) {
			if len(d.Candidates) == maxMatrixCandidates {
				break
			}
			cr := candidateRow{Candidate: c, Release: rl.Version}
			for _, row := range d.Rows {
				cr.Here = append(cr.Here, row.Current != nil && row.Current.Version == c.Version)
			}
			d.Candidates = append(d.Candidates, cr)
		}
	}
	return h.render(w, r, http.StatusOK, "environments", "Environments · "+p.Name, user, d)
}

// deploymentRow is a deployment with whether the viewer may decide its gate.
type deploymentRow struct {
	*lathe.Deployment
	CanDecide bool
}

type environmentData struct {
	Project     *projectView
	Env         *lathe.Environment
	Deployments []deploymentRow
	CanWrite    bool
	CanPromote  bool // write, and an environment with a deploy pipeline follows this one
	CanRollback bool // write, and this environment has a deploy pipeline
	Back        string
}

// environment shows one environment's deployment history: who deployed
// what and how it went, the gate each met (who decided, when, why), and the
// buttons the viewer may use.
func (h *Handler) environment(w http.ResponseWriter, r *http.Request) error {
	user := h.viewer(r)
	p, err := h.loadProject(r, r.PathValue("project"))
	if err != nil {
		return err
	}
	var e lathe.Environment
	if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "environments", r.PathValue("env")), nil, &e); err != nil {
		return err
	}
	var hist struct{ Items []*lathe.Deployment }
	if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "environments", e.Name, "deployments"), nil, &hist); err != nil {
		return err
	}
	d := environmentData{Project: p, Env: &e, CanWrite: p.CanWrite(), Back: "/p/" + p.Name + "/environments/" + e.Name}
	if d.CanWrite {
		var envs struct{ Items []*lathe.Environment }
		if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "environments"), nil, &envs); err != nil {
			return err
		}
		d.CanPromote, d.CanRollback = canPromote(envs.Items, &e), e.DeployPipeline != ""
	}
	for _, dep := range hist.Items {
		row := deploymentRow{Deployment: dep}
		row.CanDecide = dep.Status == "waiting_for_approval" && dep.GateJobID != 0 && h.mayDecide(r, user, p, dep.Gate)
		d.Deployments = append(d.Deployments, row)
	}
	return h.render(w, r, http.StatusOK, "environment", e.Name+" · "+p.Name, user, d)
}

// candidateDeployments is a candidate with its deployments.
type candidateDeployments struct {
	Candidate   *lathe.Candidate
	Deployments []*lathe.Deployment
}

type releaseData struct {
	Project    *projectView
	Release    *lathe.Release
	Candidates []candidateDeployments
}

// release shows a release: its candidates, newest first, each with its
// build and where it was deployed.
func (h *Handler) release(w http.ResponseWriter, r *http.Request) error {
	user := h.viewer(r)
	p, err := h.loadProject(r, r.PathValue("project"))
	if err != nil {
		return err
	}
	var rl lathe.Release
	if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "releases", r.PathValue("version")), nil, &rl); err != nil {
		return err
	}
	var ds struct{ Items []*lathe.Deployment }
	if _, err := h.call(r, http.MethodGet, apiPath("projects", p.Name, "releases", rl.Version, "deployments"), nil, &ds); err != nil {
		return err
	}
	d := releaseData{Project: p, Release: &rl}
	for _, c := range slices.Backward(rl.Candidates) {
		cd := candidateDeployments{Candidate: c}
		for _, dep := range ds.Items {
			if dep.Version == c.Version {
				cd.Deployments = append(cd.Deployments, dep)
			}
		}
		d.Candidates = append(d.Candidates, cd)
	}
	return h.render(w, r, http.StatusOK, "release", "Release "+rl.Version+" · "+p.Name, user, d)
}

// environmentActions are the API's actions on an environment a form may ask for.
var environmentActions = []string{"promote", "rollback"}

// environmentAction promotes what runs in an environment to the next, or
// rolls it back, as the user (the API decides whether they may), and goes
// to the environment the new deployment is for.
func (h *Handler) environmentAction(w http.ResponseWriter, r *http.Request) error {
	if err := checkCSRF(r); err != nil {
		return err
	}
	action := r.PathValue("action")
	if !slices.Contains(environmentActions, action) {
		return &Error{Status: http.StatusNotFound, Detail: fmt.Sprintf("There is no action %q on an environment.", action)}
	}
	project := r.PathValue("project")
	var d lathe.Deployment
	if _, err := h.call(r, http.MethodPost, apiPath("projects", project, "environments", r.PathValue("env"), action), nil, &d); err != nil {
		return err
	}
	http.Redirect(w, r, "/p/"+project+"/environments/"+d.Environment, http.StatusSeeOther)
	return nil
}

// deployStatus shows a deployment's status (Aviator's words) with the
// symbol and colour of the run status it corresponds to.
func deployStatus(s string) statusInfo {
	as := map[string]lathe.Status{"in_progress": lathe.StatusRunning, "failure": lathe.StatusFailed, "canceling": lathe.StatusCanceled}[s]
	if as == "" {
		as = lathe.Status(s)
	}
	st := status(as)
	st.Label = strings.ReplaceAll(s, "_", " ")
	return st
}
