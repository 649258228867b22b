package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// A job that times out still keeps what it was told to keep after a
// failure: its steps that run after a failure (artifacts `when:
// on_failure|always`) run once the job's time is up, in a context of their
// own that ends after afterTimeoutLimit, or when the job stops being the
// agent's (shut down, canceled, its lease lost), whichever comes first. A
// job canceled by a user, or lost, runs none of them.

// afterTimeoutLimit bounds the steps that run after a job timed out.
const afterTimeoutLimit = 5 * time.Minute

// errAfterTimeoutLimit ends the steps that run after a timeout when they
// take longer than afterTimeoutLimit.
var errAfterTimeoutLimit = fmt.Errorf("%w, and the steps that run after it took longer than %v", errTimedOut, afterTimeoutLimit)

// afterTimeout is the context the steps that run after a timeout share.
type afterTimeout struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// startAfterTimeout starts the time the steps that run after a timeout
// have, within held (the job's context without its timeout), and says so
// in the log.
func startAfterTimeout(held context.Context, out io.Writer) *afterTimeout {
	ctx, cancel := context.WithTimeoutCause(held, afterTimeoutLimit, errAfterTimeoutLimit)
	if held.Err() == nil {
		fmt.Fprintf(out, "job timed out: running the steps that run after a failure (artifacts), for at most %v\n", afterTimeoutLimit)
	}
	return &afterTimeout{ctx: ctx, cancel: cancel}
}

// end releases the context; t may be nil (the job did not time out).
func (t *afterTimeout) end() {
	if t != nil {
		t.cancel()
	}
}

// timedOut reports whether err is why a job ended: its timeout.
func timedOut(err error) bool { return errors.Is(err, errTimedOut) }
