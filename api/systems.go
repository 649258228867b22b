package api

import "net/http"

// listSystems is GET /api/v1/systems: the images and executors jobs ran on
// (Kraken's systems), with counts and when each was last used.
func (s *Server) listSystems(w http.ResponseWriter, r *http.Request) error {
	systems, err := s.store.Systems(r.Context())
	return respond(w, http.StatusOK, map[string]any{"systems": systems}, err)
}
