package dispatch

import (
	"context"
	"errors"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/trigger"
)

// maxClaimID bounds the claim ID an agent sends (lathe.ClaimIDHeader).
const maxClaimID = 128

// ClaimRequest is what an agent's claim request says besides who it is.
type ClaimRequest struct {
	// ID is the claim's ID (lathe.ClaimIDHeader), "" for none.
	ID string
	// New says the agent never sent ID before (lathe.ClaimNewHeader).
	New bool
	// Allowed, when set, is asked each time the claim wakes whether the
	// agent may still claim; when not, Claim returns ErrStopped. (The claim
	// itself re-checks the agent in its transaction; Allowed ends the wait.)
	Allowed func(context.Context) bool
}

// ErrStopped is Claim's error when ClaimRequest.Allowed said no.
var ErrStopped = errors.New("claim stopped: the agent may no longer claim")

// Claim waits until end for a job the acting agent can run, and returns
// its assignment with the secrets the job may have (see withSecrets) and
// the repository URL with its credentials, which only the agent running
// the job sees. It returns nil, nil at end with no job, or when the job it
// claimed failed at once for want of its secrets (the agent asks again).
// A claim ID repeated from an earlier claim gets that claim's attempt
// again while it runs, so a retried request whose answer was lost does
// not start a second attempt. When ctx ends first, Claim returns its error.
//
// While the store knows that nothing the agent could run is queued
// (store.NothingClaimable), a claim whose ID cannot name an attempt (none,
// or one never sent before: c.New) waits for a job without reading the
// queue; an idle fleet's claims then cost no query.
func (s *Service) Claim(ctx context.Context, a Actor, c ClaimRequest, end time.Time) (*lathe.Assignment, error) {
	if err := a.requireAgent(); err != nil {
		return nil, err
	}
	claimID := c.ID
	if len(claimID) > maxClaimID {
		return nil, invalidf("%s: at most %d characters", lathe.ClaimIDHeader, maxClaimID)
	}
	agent := a.Agent
	if err := s.store.TouchAgent(ctx, agent.ID); err != nil {
		return nil, err
	}
	deadline := time.NewTimer(time.Until(end))
	defer deadline.Stop()
	// noAttempt: no attempt can carry claimID, so only the queue is left to read.
	noAttempt := claimID == "" || c.New
	for woken := false; ; woken = true {
		if woken && c.Allowed != nil && !c.Allowed(ctx) {
			return nil, ErrStopped
		}
		wake := s.store.ClaimSignal(ctx, agent.Labels)
		if noAttempt && s.store.NothingClaimable(agent.Labels) {
			select {
			case <-wake:
				continue
			case <-deadline.C:
				return nil, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		as, contended, err := s.store.ClaimOrContend(ctx, agent.ID, agent.Labels, claimID, noAttempt)
		noAttempt = true // the claim looked for claimID's attempt
		if err != nil {
			return nil, err
		}
		if as != nil {
			return s.deliver(ctx, agent, as)
		}
		if contended && time.Now().Before(end) && ctx.Err() == nil {
			continue // other claimers won every try; jobs may remain
		}
		select {
		case <-wake:
		case <-deadline.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// deliver completes a claimed assignment with what only the agent that
// runs it may see: its secrets and the repository's credentials or SSH
// key.
func (s *Service) deliver(ctx context.Context, agent *lathe.Agent, as *lathe.Assignment) (*lathe.Assignment, error) {
	as, err := s.withEnvironment(ctx, as)
	if err != nil {
		return nil, err
	}
	if as, err = s.withSecrets(ctx, agent.ID, as); as == nil || err != nil {
		return nil, err
	}
	if as.RepoURL, err = trigger.CloneURL(s.keys, as.RepoURL, as.RepoCredentials); err != nil {
		return nil, err
	}
	if as, err = s.withSSHKey(ctx, as); err != nil {
		return nil, err
	}
	s.log.Debug("job claimed", "agent", agent.Name, "job_id", as.JobID, "attempt_id", as.AttemptID)
	return as, nil
}
