package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/dispatch"
)

// Queue control (dequeue, promote; enqueue is the trigger with a pull
// request) and pipelines' run-number sequences.

type dequeueInput struct {
	Ref         string `json:"ref"`
	PullRequest int64  `json:"pull_request"`
	Pipeline    string `json:"pipeline"`
}

func (s *Server) dequeue(w http.ResponseWriter, r *http.Request) error {
	var in dequeueInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	runs, err := s.dispatch.Dequeue(r.Context(), principal(r.Context()).actor(),
		dispatch.Dequeue{Ref: in.Ref, PullRequest: in.PullRequest, Pipeline: in.Pipeline})
	return respond(w, http.StatusAccepted, map[string][]*lathe.Run{"items": runs}, err)
}

func (s *Server) promoteRun(w http.ResponseWriter, r *http.Request) error {
	return s.runs().act(w, r, as(r, s.dispatch.PromoteRun))
}

func (s *Server) getSequence(w http.ResponseWriter, r *http.Request) error {
	seq, err := s.dispatch.Sequence(r.Context(), principal(r.Context()).actor(), r.PathValue("pipeline"),
		r.URL.Query().Get("branch"))
	return respond(w, http.StatusOK, seq, err)
}

type sequenceInput struct {
	Next *int64 `json:"next"`
}

func (s *Server) putSequence(w http.ResponseWriter, r *http.Request) error {
	var in sequenceInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Next == nil {
		return problemf(http.StatusBadRequest, "next: missing; the number the pipeline's next run takes")
	}
	seq, err := s.dispatch.SetSequence(r.Context(), principal(r.Context()).actor(), r.PathValue("pipeline"),
		r.URL.Query().Get("branch"), *in.Next)
	return respond(w, http.StatusOK, seq, err)
}
