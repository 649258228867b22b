package api

import "net/http"

// listConfigErrors serves the pipeline configuration problems last met per
// branch of a project (Zuul's config-errors), optionally of one branch.
func (s *Server) listConfigErrors(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	errs, err := s.store.ConfigErrors(r.Context(), p.ID, r.URL.Query().Get("branch"))
	return respond(w, http.StatusOK, map[string]any{"items": errs}, err)
}
