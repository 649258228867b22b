package agent

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/lathe-ci/lathe/client"
)

// An agent hears that the server wants its attempt stopped (a user canceled
// the job or run, or the server judged the attempt lost) from the answer to
// its next report. A step that prints nothing reports only at the
// heartbeat, so a cancel would wait up to that long: a job that has run for
// stopWatchAfter also holds a wait on the server, which answers the moment
// the order is given. A job shorter than that ends before a heartbeat
// matters, and costs no request.
const stopWatchAfter = time.Second

// stopWaitSec is how long one wait lasts on the server before it answers
// "nothing yet" and the agent asks again.
const stopWaitSec = 25

// watchStop waits on the server for an order to stop the attempt, from
// stopWatchAfter into the job until ctx ends, and passes one on to out.
func (a *Agent) watchStop(ctx context.Context, attemptID int64, out *shipper, log *slog.Logger) {
	select {
	case <-time.After(stopWatchAfter):
	case <-ctx.Done():
		return
	}
	for ctx.Err() == nil {
		wctx, cancel := context.WithTimeout(ctx, stopWaitSec*time.Second+reportAnswerTimeout)
		stop, err := a.Client.WaitStop(wctx, attemptID, stopWaitSec)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && stop:
			out.requestCancel()
			return
		case err == nil:
			continue
		case gone(err):
			// A server without the route (an older one) or an attempt it
			// no longer shows this agent: the reports say the rest.
			log.Debug("no wait for a stop order; the reports carry it", "err", err)
			return
		}
		// The server is unreachable: the reports find another replica or
		// the lease watch gives up; ask again at the heartbeat.
		select {
		case <-time.After(a.Heartbeat):
		case <-ctx.Done():
		}
	}
}

// gone reports whether err is the server saying it has nothing to wait on.
func gone(err error) bool {
	switch client.StatusOf(err) {
	case http.StatusNotFound, http.StatusForbidden, http.StatusMethodNotAllowed:
		return true
	}
	return errors.Is(err, context.Canceled)
}
