package api

import (
	"net/http"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
)

// Promotion and rollback are deployments like any other: they start the
// target environment's deploy pipeline, behind its gate when protected.

// candidateOf is the candidate a deployment deployed.
func (s *Server) candidateOf(r *http.Request, d *lathe.Deployment) (*lathe.Candidate, error) {
	version, n, err := parseCandidate(d.Version)
	if err != nil {
		return nil, err
	}
	return s.store.Candidate(r.Context(), projectOf(r).ID, version, n)
}

// promoteDeployment deploys what runs in an environment (its current
// deployment's candidate) to the next environment in promotion order.
func (s *Server) promoteDeployment(w http.ResponseWriter, r *http.Request) error {
	from, err := s.releaseEnvironment(r)
	if err != nil {
		return err
	}
	cur, err := s.store.CurrentDeployment(r.Context(), from.ID)
	if err != nil {
		return err
	}
	if cur == nil {
		return problemf(http.StatusConflict, "environment %s has no successful deployment to promote", from.Name)
	}
	if cur.Version == "" {
		return problemf(http.StatusConflict, "environment %s runs commit %.12s, deployed by a pipeline job without a release candidate; "+
			"promotion deploys candidates: create one (POST .../releases/VERSION-rcN) and deploy it", from.Name, cur.Commit)
	}
	es, err := s.store.Environments(r.Context(), projectOf(r).ID)
	if err != nil {
		return err
	}
	to := lathe.NextEnvironment(es, from)
	if to == nil {
		return problemf(http.StatusConflict, "environment %s is the last in promotion order; there is nothing to promote to", from.Name)
	}
	c, err := s.candidateOf(r, cur)
	if err != nil {
		return err
	}
	return s.writeDeployment(w, r, to, c)
}

// rollbackDeployment deploys again the candidate of the environment's
// latest successful deployment before the current one's candidate (a
// deployment of a bare commit by a pipeline job is passed over).
func (s *Server) rollbackDeployment(w http.ResponseWriter, r *http.Request) error {
	e, err := s.releaseEnvironment(r)
	if err != nil {
		return err
	}
	ok, err := s.store.SuccessfulDeployments(r.Context(), e.ID, 200)
	if err != nil {
		return err
	}
	for _, d := range ok {
		// A commit deployed by a pipeline job has no candidate to deploy again.
		if d.Version != ok[0].Version && d.Version != "" {
			c, err := s.candidateOf(r, d)
			if err != nil {
				return err
			}
			return s.writeDeployment(w, r, e, c)
		}
	}
	return problemf(http.StatusConflict, "environment %s has no earlier successful deployment of another candidate to roll back to", e.Name)
}

// writeDeployment deploys c to e and answers 201 with the deployment.
func (s *Server) writeDeployment(w http.ResponseWriter, r *http.Request, e *lathe.Environment, c *lathe.Candidate) error {
	d, err := s.deploy(r, e, c)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/projects/"+projectOf(r).Name+"/environments/"+e.Name+"/deployments/"+strconv.FormatInt(d.ID, 10))
	writeJSON(w, http.StatusCreated, d)
	return nil
}
