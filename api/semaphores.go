package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
)

// semaphoreList is the answer to listing a project's semaphores.
type semaphoreList struct {
	Items []*lathe.Semaphore `json:"items"`
}

// listSemaphores lists the semaphores a project's jobs have named, with
// who holds each and who waits for it.
func (s *Server) listSemaphores(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	sems, err := s.store.Semaphores(r.Context(), p.ID)
	return respond(w, http.StatusOK, semaphoreList{Items: sems}, err)
}

func (s *Server) getSemaphore(w http.ResponseWriter, r *http.Request) error {
	return s.semaphores(r).serve(w, r)
}
