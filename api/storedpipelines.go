package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/trigger"
)

// storedPipelineInput is a stored pipeline's YAML, as PUT takes it.
type storedPipelineInput struct {
	PipelineYAML *string `json:"pipeline_yaml"`
}

// storedPipelineList is a project's stored pipelines.
type storedPipelineList struct {
	Items []*lathe.StoredPipeline `json:"items"`
}

// listStoredPipelines serves the pipelines the server keeps for the
// project, with their YAML.
func (s *Server) listStoredPipelines(w http.ResponseWriter, r *http.Request) error {
	sps, err := s.store.StoredPipelines(r.Context(), projectOf(r).ID)
	return respond(w, http.StatusOK, storedPipelineList{Items: sps}, err)
}

func (s *Server) getStoredPipeline(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.store.StoredPipeline(r.Context(), projectOf(r).ID, r.PathValue("pipeline"))
	return respond(w, http.StatusOK, sp, err)
}

// putStoredPipeline stores pipeline YAML for the project (201 when new,
// 200 when it replaces the stored one), once it parses as the pipeline the
// path names: broken YAML is a 422 with each problem's line, and nothing
// is stored.
func (s *Server) putStoredPipeline(w http.ResponseWriter, r *http.Request) error {
	var in storedPipelineInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.PipelineYAML == nil || *in.PipelineYAML == "" {
		return problemf(http.StatusBadRequest, "pipeline_yaml: required: the pipeline file's text")
	}
	name := r.PathValue("pipeline")
	if _, err := trigger.ParseStored(name, *in.PipelineYAML); err != nil {
		return err
	}
	p, by := projectOf(r), principal(r.Context()).User
	sp, created, err := s.store.PutStoredPipeline(r.Context(), lathe.StoredPipeline{ProjectID: p.ID, Name: name, YAML: *in.PipelineYAML, UpdatedBy: by})
	if err != nil {
		return err
	}
	s.audit(r, by, "pipeline.stored", p, map[string]any{"pipeline": name, "created": created})
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/projects/"+p.Name+"/stored-pipelines/"+name)
	}
	writeJSON(w, status, sp)
	return nil
}

// deleteStoredPipeline removes a stored pipeline; runs it made stay.
func (s *Server) deleteStoredPipeline(w http.ResponseWriter, r *http.Request) error {
	p, name := projectOf(r), r.PathValue("pipeline")
	if err := s.store.DeleteStoredPipeline(r.Context(), p.ID, name); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "pipeline.unstored", p, map[string]any{"pipeline": name})
	return noContent(w, nil)
}
