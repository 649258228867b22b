package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// releaseSettingsInput replaces a project's release settings.
type releaseSettingsInput struct {
	BuildPipeline string `json:"build_pipeline"`
}

func (s *Server) getReleaseSettings(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.store.ReleaseSettings(r.Context(), projectOf(r).ID)
	return respond(w, http.StatusOK, rs, err)
}

// putReleaseSettings stores the project's release settings: the pipeline a
// candidate's build runs (trigger_build without build_pipeline).
func (s *Server) putReleaseSettings(w http.ResponseWriter, r *http.Request) error {
	var in releaseSettingsInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.BuildPipeline == "" || len(in.BuildPipeline) > 200 {
		return problemf(http.StatusBadRequest, "build_pipeline: %q must be a pipeline's name, 1 to 200 characters", in.BuildPipeline)
	}
	p, user := projectOf(r), principal(r.Context()).User
	rs := &lathe.ReleaseSettings{BuildPipeline: in.BuildPipeline}
	if err := s.store.SetReleaseSettings(r.Context(), p.ID, rs, user); err != nil {
		return err
	}
	s.audit(r, user, "release.settings.updated", p, map[string]any{"build_pipeline": in.BuildPipeline})
	writeJSON(w, http.StatusOK, rs)
	return nil
}

// getDeployment is one deployment of an environment.
func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	e, err := s.releaseEnvironment(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "deployment")
	if err != nil {
		return err
	}
	d, err := s.store.Deployment(r.Context(), id)
	if err == nil && d.Environment != e.Name {
		return problemf(http.StatusNotFound, "deployment %d is not of environment %s", id, e.Name)
	}
	return respond(w, http.StatusOK, d, err)
}

// releaseDeployments lists the deployments of a release's candidates,
// newest first.
func (s *Server) releaseDeployments(w http.ResponseWriter, r *http.Request) error {
	rl, err := s.store.Release(r.Context(), projectOf(r).ID, releaseVersion(r.PathValue("version")))
	if err != nil {
		return err
	}
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := s.store.DeploymentPage(r.Context(), store.DeploymentFilter{ReleaseID: rl.ID, Before: before, Limit: limit})
	return respond(w, http.StatusOK, page, err)
}
