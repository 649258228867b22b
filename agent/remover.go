package agent

import "log/slog"

// remover deletes what finished attempts leave on disk — their workspaces
// and job directories — on one goroutine, so the agent asks for its next
// job as soon as the server has acknowledged a finish instead of after the
// deletion. It is bounded: with maxPendingRemovals waiting, the next one is
// done at once by the caller. What it has not done when the agent stops it
// still does before Run returns; what a killed agent leaves,
// removeLeftovers deletes at the next start.
type remover struct {
	log   *slog.Logger
	queue chan func() error
	done  chan struct{}
}

// maxPendingRemovals bounds the removals waiting (and so the disk they hold).
const maxPendingRemovals = 4

func newRemover(log *slog.Logger) *remover {
	return &remover{log: log, queue: make(chan func() error, maxPendingRemovals), done: make(chan struct{})}
}

// run does the queued removals until stop is called and the queue is empty.
func (r *remover) run() {
	defer close(r.done)
	for f := range r.queue {
		r.do(f)
	}
}

// stop ends run once every queued removal is done, and waits for it.
func (r *remover) stop() {
	close(r.queue)
	<-r.done
}

// remove queues f, or runs it now when the queue is full or r is nil.
func (r *remover) remove(f func() error) {
	if r != nil {
		select {
		case r.queue <- f:
			return
		default:
		}
	}
	r.do(f)
}

func (r *remover) do(f func() error) {
	if err := f(); err != nil {
		log := slog.Default()
		if r != nil && r.log != nil {
			log = r.log
		}
		log.Warn("remove what a finished attempt left", "err", err)
	}
}
