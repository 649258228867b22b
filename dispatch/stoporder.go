package dispatch

import (
	"context"
	"time"
)

// WaitStop waits, until end, for the server to want the acting agent's
// attempt stopped (a cancel of its job or run, or the attempt already
// over), and reports whether it does. The agent holds this wait open while
// a job runs, so a cancel reaches it at once and not only with the answer
// to its next report, which a step printing nothing sends only at its
// heartbeat. A client gone ends the wait (false, with no error).
func (s *Service) WaitStop(ctx context.Context, a Actor, attemptID int64, end time.Time) (bool, error) {
	if err := a.requireAgent(); err != nil {
		return false, err
	}
	deadline := time.NewTimer(time.Until(end))
	defer deadline.Stop()
	for {
		// Wait before reading, so a cancel committed between the read and
		// the wait still wakes it.
		wctx, stopWaiting := context.WithCancel(ctx)
		wake := s.store.StopSignal(wctx, attemptID)
		stop, err := s.store.AttemptStop(ctx, a.Agent.ID, attemptID)
		if err != nil || stop {
			stopWaiting()
			return stop, err
		}
		select {
		case <-wake:
			stopWaiting()
		case <-deadline.C:
			stopWaiting()
			return false, nil
		case <-ctx.Done():
			stopWaiting()
			return false, nil
		}
	}
}
