package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// deploymentInput starts a deployment, or reports one (with Status).
type deploymentInput struct {
	Version string `json:"release_candidate_version"`
	Status  string `json:"status"`
}

// matrixList answers what runs where.
type matrixList struct {
	Items []*lathe.MatrixRow `json:"items"`
}

// deploymentTarget checks a deployment request: the environment, then the
// version's form, then the candidate, each with the seed's message.
func (s *Server) deploymentTarget(w http.ResponseWriter, r *http.Request, in *deploymentInput) (*lathe.Environment, *lathe.Candidate, error) {
	if err := decode(w, r, in); err != nil {
		return nil, nil, err
	}
	version, n, err := parseCandidate(in.Version)
	if err != nil {
		return nil, nil, err
	}
	e, err := s.releaseEnvironment(r)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.store.Candidate(r.Context(), projectOf(r).ID, version, n)
	if errors.Is(err, lathe.ErrNotFound) {
		return nil, nil, problemf(http.StatusNotFound, "%s", msgNoRelease)
	}
	return e, c, err
}

// createDeployment deploys a candidate: it records the deployment and
// starts the environment's deploy pipeline at the candidate's commit with
// the parameters version and environment.
func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	var in deploymentInput
	e, c, err := s.deploymentTarget(w, r, &in)
	if err != nil {
		return err
	}
	d, err := s.deploy(r, e, c)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/projects/"+p.Name+"/environments/"+e.Name+"/deployments/"+strconv.FormatInt(d.ID, 10))
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// deploy starts a deployment of c to e (see dispatch.Service.Deploy).
func (s *Server) deploy(r *http.Request, e *lathe.Environment, c *lathe.Candidate) (*lathe.Deployment, error) {
	return s.dispatch.Deploy(r.Context(), principal(r.Context()).actor(), e, c)
}

// reportDeployment takes the status an outside CD reports, creating the
// deployment when there is none; it starts no pipeline.
func (s *Server) reportDeployment(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	var in deploymentInput
	e, c, err := s.deploymentTarget(w, r, &in)
	if err != nil {
		return err
	}
	if !slices.Contains(lathe.DeploymentStatuses, in.Status) {
		return problemf(http.StatusBadRequest, "status: %q must be one of pending, in_progress, success, failure, canceling, canceled, unknown", in.Status)
	}
	id, err := s.store.ReportDeployment(r.Context(), e.ID, c.ID, in.Status, principal(r.Context()).User)
	if err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "deployment.reported", p, map[string]any{"environment": e.Name, "version": c.Version, "status": in.Status})
	d, err := s.store.Deployment(r.Context(), id)
	return respond(w, http.StatusOK, d, err)
}

// listDeployments is an environment's deployment history, newest first.
func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) error {
	e, err := s.releaseEnvironment(r)
	if err != nil {
		return err
	}
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := s.store.DeploymentPage(r.Context(), store.DeploymentFilter{EnvironmentID: e.ID, Before: before, Limit: limit})
	return respond(w, http.StatusOK, page, err)
}

// listAllDeployments serves deployments across the projects the caller
// may read (or of ?project=), newest first.
func (s *Server) listAllDeployments(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	f := store.DeploymentFilter{Before: before, Limit: limit, Viewer: principal(r.Context()).viewer()}
	if f.ProjectID, err = s.readableProjectID(r, r.URL.Query().Get("project")); err != nil {
		return err
	}
	page, err := s.store.DeploymentPage(r.Context(), f)
	return respond(w, http.StatusOK, page, err)
}

// deploymentMatrix answers what runs where: each environment with its
// current deployment.
func (s *Server) deploymentMatrix(w http.ResponseWriter, r *http.Request) error {
	m, err := s.store.Matrix(r.Context(), projectOf(r).ID)
	return respond(w, http.StatusOK, matrixList{Items: m}, err)
}
