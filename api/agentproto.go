package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/dispatch"
)

// claimUntil long-polls until end for a job the calling agent can run: it
// answers 200 with an Assignment as soon as one is queued, or 204 at end
// with none (see dispatch.Service.Claim). A request carrying the claim ID
// of an earlier one gets that request's attempt again while it runs.
// allowed, when set, is asked each time the claim wakes whether the agent
// may still claim; when not, claimUntil answers nothing and returns
// dispatch.ErrStopped.
func (s *Server) claimUntil(w http.ResponseWriter, r *http.Request, end time.Time, allowed func(context.Context) bool) error {
	as, err := s.dispatch.Claim(r.Context(), principal(r.Context()).actor(), dispatch.ClaimRequest{
		ID:      r.Header.Get(lathe.ClaimIDHeader),
		New:     r.Header.Get(lathe.ClaimNewHeader) == "1",
		Allowed: allowed,
	}, end)
	switch {
	case err != nil:
		return err
	case as == nil:
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, as)
	return nil
}

// report takes an agent's report on one of its attempts.
func (s *Server) report(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "attempt")
	if err != nil {
		return err
	}
	var rep lathe.Report
	if err := decode(w, r, &rep); err != nil {
		return err
	}
	p := principal(r.Context())
	reply, err := s.dispatch.Report(r.Context(), p.actor(), id, &rep)
	if errors.Is(err, lathe.ErrFenced) {
		// The attempt is over: tell the agent to stop, with the reply it can act on.
		w.Header().Set("Lathe-Fenced", strconv.FormatInt(id, 10))
		writeJSON(w, http.StatusGone, reply)
		return nil
	}
	if err == nil && reply.Finished && rep.Finish != nil {
		reply.Next = s.claimNext(r, p)
	}
	return respond(w, http.StatusOK, reply, err)
}

// claimNext claims, without waiting, the next job of an agent whose
// finishing report carries a claim ID (lathe.ClaimIDHeader), so a busy
// agent needs no claim request between jobs. It answers nil when there is
// none, the agent may not claim, or the claim failed: the agent then claims
// as usual with the same ID, which finds an attempt this made.
func (s *Server) claimNext(r *http.Request, p *Principal) *lathe.Assignment {
	claimID := r.Header.Get(lathe.ClaimIDHeader)
	if claimID == "" || p.Agent == nil || idle(p.Agent) != "" {
		return nil
	}
	as, err := s.dispatch.Claim(r.Context(), p.actor(), dispatch.ClaimRequest{
		ID:  claimID,
		New: r.Header.Get(lathe.ClaimNewHeader) == "1",
	}, time.Now())
	if err != nil {
		slogFrom(r).Warn("claim with a finish failed; the agent claims again", "agent", p.Agent.Name, "err", err)
		return nil
	}
	return as
}
