package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/trigger"
)

// claimUntil long-polls until end for a job the calling agent can run: it
// answers 200 with an Assignment as soon as one is queued, or 204 at end
// with none. A request carrying the claim ID of an earlier one gets that
// request's attempt again while it runs.
func (s *Server) claimUntil(w http.ResponseWriter, r *http.Request, end time.Time) {
	agent := principal(r.Context()).Agent
	// The claim ID makes a retried request answer with the attempt the lost
	// answer carried (see lathe.ClaimIDHeader).
	claimID := r.Header.Get(lathe.ClaimIDHeader)
	if len(claimID) > 128 {
		writeProblem(w, r, problemf(http.StatusBadRequest, "%s: at most 128 characters", lathe.ClaimIDHeader))
		return
	}
	ctx := r.Context()
	if err := s.store.TouchAgent(ctx, agent.ID); err != nil {
		writeProblem(w, r, err)
		return
	}
	deadline := time.NewTimer(time.Until(end))
	defer deadline.Stop()
	for {
		wake := s.store.ClaimSignal(ctx, agent.Labels)
		as, err := s.store.ClaimWithID(ctx, agent.ID, agent.Labels, claimID)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		if as != nil {
			if as, err = s.withSecrets(ctx, agent.ID, as); err != nil {
				writeProblem(w, r, err)
				return
			}
			if as == nil {
				// The job failed for want of its secrets; the agent asks again.
				w.WriteHeader(http.StatusNoContent)
				return
			}
			// Only the agent that runs the job sees the URL's credentials.
			if as.RepoURL, err = trigger.CloneURL(s.keys, as.RepoURL, as.RepoCredentials); err != nil {
				writeProblem(w, r, err)
				return
			}
			s.log.Debug("job claimed", "agent", agent.Name, "job_id", as.JobID, "attempt_id", as.AttemptID)
			writeJSON(w, http.StatusOK, as)
			return
		}
		select {
		case <-wake:
		case <-deadline.C:
			w.WriteHeader(http.StatusNoContent)
			return
		case <-ctx.Done():
			return
		}
	}
}

// report takes an agent's report on one of its attempts.
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	agent := principal(r.Context()).Agent
	id, err := pathID(r, "attempt")
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	var rep lathe.Report
	if err := decode(w, r, &rep); err != nil {
		writeProblem(w, r, err)
		return
	}
	if rep.LogOffset < 0 {
		writeProblem(w, r, problemf(http.StatusBadRequest, "log_offset: must not be negative"))
		return
	}
	if rep.Finish != nil && len(rep.Finish.Workspace) > 4096 {
		writeProblem(w, r, problemf(http.StatusBadRequest, "finish.workspace: at most 4096 characters"))
		return
	}
	if rep.Finish != nil && rep.Finish.Reason != "" {
		if err := lathe.CheckInfraReason(rep.Finish.Reason); err != nil {
			writeProblem(w, r, problemf(http.StatusBadRequest, "finish.reason: %v", err))
			return
		}
	}
	reply, err := s.store.Report(r.Context(), agent.ID, id, &rep)
	if errors.Is(err, lathe.ErrFenced) {
		// The attempt is over: tell the agent to stop, with the reply it can act on.
		w.Header().Set("Lathe-Fenced", strconv.FormatInt(id, 10))
		writeJSON(w, http.StatusGone, reply)
		return
	}
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}
