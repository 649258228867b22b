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
	// End is when the claim stops waiting for a job (a time past: it
	// does not wait).
	End time.Time
}

// ErrStopped is Claim's error when ClaimRequest.Allowed said no.
var ErrStopped = errors.New("claim stopped: the agent may no longer claim")

// Claim waits until c.End for a job the acting agent can run, and returns
// its assignment with the secrets the job may have (see withSecrets) and
// the repository URL with its credentials, which only the agent running
// the job sees. It returns nil, nil at c.End with no job, or when the job it
// claimed failed at once for want of its secrets (the agent asks again).
// A claim ID repeated from an earlier claim gets that claim's attempt
// again while it runs, so a retried request whose answer was lost does
// not start a second attempt. When ctx ends first, Claim returns its error.
//
// While the store knows that nothing the agent could run is queued
// (store.NothingClaimable), a claim whose ID cannot name an attempt (none,
// or one never sent before: c.New) waits for a job without reading the
// queue; an idle fleet's claims then cost no query.
//
// c comes by pointer and Claim keeps few locals of its own: its frame
// stays on the stack through an idle agent's whole wait (see look).
func (s *Service) Claim(ctx context.Context, a Actor, c *ClaimRequest) (*lathe.Assignment, error) {
	if err := checkClaim(&a, c.ID); err != nil {
		return nil, err
	}
	l := claimLook{agent: a.Agent, c: c, noAttempt: c.ID == "" || c.New}
	var deadline *time.Timer
	defer func() {
		if deadline != nil {
			deadline.Stop()
		}
	}()
	for {
		as, wake, err := s.look(ctx, &l)
		switch {
		case err == errNothingDelivered:
			return nil, nil // the agent asks again
		case as != nil || err != nil:
			return as, err
		case wake == nil:
			continue // other claimers won every try; jobs may remain
		case deadline == nil:
			deadline = time.NewTimer(time.Until(c.End))
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

// checkClaim refuses a claim by anyone but an agent, or with too long an ID.
func checkClaim(a *Actor, id string) error {
	if err := a.requireAgent(); err != nil {
		return err
	}
	if len(id) > maxClaimID {
		return invalidf("%s: at most %d characters", lathe.ClaimIDHeader, maxClaimID)
	}
	return nil
}

// errNothingDelivered is look's error when the job it claimed failed at
// once for want of its secrets (see deliver).
var errNothingDelivered = errors.New("the claimed job failed before its delivery")

// claimLook is a claim's state from one look at the queue to the next.
type claimLook struct {
	agent *lathe.Agent
	c     *ClaimRequest
	// noAttempt: no attempt can carry c.ID, so only the queue is left to read.
	noAttempt bool
	looked    bool
}

// look is one look of Claim's: it returns the job claimed; or the channel
// to wait on before the next look; or neither when other claimers won
// every try and jobs may remain, to look again at once.
//
// It is a call of its own, not inlined, so that its locals are not in
// Claim's frame, which stays on the stack through an idle agent's whole
// wait: the shallower that wait, the smaller each of a fleet's parked
// goroutine stacks (the runtime halves a parked stack while it uses under a
// quarter of it).
//
//go:noinline
func (s *Service) look(ctx context.Context, l *claimLook) (*lathe.Assignment, <-chan struct{}, error) {
	if !l.looked {
		if err := s.store.TouchAgent(ctx, l.agent.ID); err != nil {
			return nil, nil, err
		}
	} else if l.c.Allowed != nil && !l.c.Allowed(ctx) {
		return nil, nil, ErrStopped
	}
	l.looked = true
	wake := s.store.ClaimSignal(ctx, l.agent.Labels)
	if l.noAttempt && s.store.NothingClaimable(l.agent.Labels) {
		return nil, wake, nil
	}
	as, contended, err := s.store.ClaimOrContend(ctx, l.agent.ID, l.agent.Labels, l.c.ID, l.noAttempt)
	l.noAttempt = true // the claim looked for the attempt of c.ID
	switch {
	case err != nil:
		return nil, nil, err
	case as != nil:
		if as, err = s.deliver(ctx, l.agent, as); as == nil && err == nil {
			err = errNothingDelivered
		}
		return as, nil, err
	case contended && time.Now().Before(l.c.End) && ctx.Err() == nil:
		return nil, nil, nil
	}
	return nil, wake, nil
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
	as.LeaseTTLSec = int64(s.store.LeaseTTLOrDefault() / time.Second)
	s.log.Debug("job claimed", "agent", agent.Name, "job_id", as.JobID, "attempt_id", as.AttemptID)
	return as, nil
}
