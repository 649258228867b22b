package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

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

// waitStop answers an agent, at once or when it happens within ?wait
// seconds, whether the server wants its attempt stopped.
func (s *Server) waitStop(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "attempt")
	if err != nil {
		return err
	}
	wait, err := queryInt(r, "wait", 25, 0, 60)
	if err != nil {
		return err
	}
	stop, err := s.dispatch.WaitStop(r.Context(), principal(r.Context()).actor(), id, time.Now().Add(time.Duration(wait)*time.Second))
	return respond(w, http.StatusOK, lathe.StopOrder{Stop: stop}, err)
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
	c := claimRequest(r, time.Now())
	as, err := s.dispatch.Claim(r.Context(), p.actor(), &c)
	if err != nil {
		slogFrom(r).Warn("claim with a finish failed; the agent claims again", "agent", p.Agent.Name, "err", err)
		return nil
	}
	return as
}
