package api

import (
	"net/http"
	"strings"
	"time"
	"unicode"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// holdInput asks for a hold: keep the workspaces of the next Count failed
// attempts of one job of one pipeline for Duration.
type holdInput struct {
	Pipeline string `json:"pipeline"`
	Job      string `json:"job"`
	// Count defaults to 1.
	Count *int `json:"count"`
	// Duration is a Go duration such as "2h" or "30m".
	Duration string `json:"duration"`
	Reason   string `json:"reason"`
}

// holdList is the answer to listing a project's holds.
type holdList struct {
	Items []*lathe.Hold `json:"items"`
}

// check validates the input and returns the hold it asks for.
func (in holdInput) check() (*lathe.Hold, error) {
	for _, f := range []struct{ name, v string }{{"pipeline", in.Pipeline}, {"job", in.Job}} {
		if f.v == "" || len(f.v) > 200 || strings.IndexFunc(f.v, unicode.IsControl) >= 0 {
			return nil, problemf(http.StatusBadRequest, "%s: %q must be the name of a %s, 1 to 200 characters", f.name, f.v, f.name)
		}
	}
	count := 1
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 100 {
		return nil, problemf(http.StatusBadRequest, "count: %d must be from 1 to 100", count)
	}
	d, err := time.ParseDuration(in.Duration)
	if in.Duration == "" || err != nil || d < time.Second || d > store.MaxHoldDuration || d%time.Second != 0 {
		return nil, problemf(http.StatusBadRequest, "duration: %q must be whole seconds from 1s to %s, such as 30m or 2h", in.Duration, store.MaxHoldDuration)
	}
	if len(in.Reason) > 1000 {
		return nil, problemf(http.StatusBadRequest, "reason: at most 1000 characters")
	}
	return &lathe.Hold{Pipeline: in.Pipeline, Job: in.Job, Count: count, DurationSec: int64(d / time.Second), Reason: in.Reason}, nil
}

func (s *Server) createHold(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	var in holdInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	h, err := in.check()
	if err != nil {
		return err
	}
	h.Project, h.CreatedBy = p.Name, principal(r.Context()).User
	if err := s.store.CreateHold(r.Context(), p.ID, h); err != nil {
		return err
	}
	s.audit(r, h.CreatedBy, "hold.created", p, map[string]any{"hold_id": h.ID})
	w.Header().Set("Location", "/api/v1/projects/"+p.Name+"/holds/"+itoa(h.ID))
	writeJSON(w, http.StatusCreated, h)
	return nil
}

func (s *Server) listHolds(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	hs, err := s.store.Holds(r.Context(), p.ID)
	return respond(w, http.StatusOK, holdList{Items: hs}, err)
}

func (s *Server) getHold(w http.ResponseWriter, r *http.Request) error {
	return s.holds(r).serve(w, r)
}

// deleteHold ends a hold: it catches no more failures. Workspaces it kept
// stay on their agents until they expire.
func (s *Server) deleteHold(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	id, err := pathID(r, "hold")
	if err != nil {
		return err
	}
	if err := s.store.DeleteHold(r.Context(), p.ID, id); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "hold.deleted", p, map[string]any{"hold_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
