package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
)

// maxReportLog bounds the log bytes in one report.
const maxReportLog = 4 << 20

// reportGap is the least time between two reports (a finish goes at once).
// Batching this way turns a flood of output or of short steps into a few
// requests, leaving the CPU to the job, while logs still look live.
const reportGap = 50 * time.Millisecond

// shipper is an attempt's outbox. The job writes log bytes and step states
// into it without waiting; one loop sends whatever is pending in a single
// report, so a burst of output or many short steps cost few requests. Log
// bytes stay in the outbox until the server says it holds them, and are
// resent from the server's size after any failure.
type shipper struct {
	c         *client.Client
	attemptID int64
	heartbeat time.Duration
	log       *slog.Logger
	onCancel  func() // called once when the server asks to stop the attempt

	mu      sync.Mutex
	pending []byte // log bytes from offset acked on
	acked   int64  // bytes the server holds
	written int64  // bytes written so far
	steps   map[int]lathe.StepReport
	finish  *lathe.FinishReport
	done    bool // the server stored the finish (or fenced the attempt)
	fenced  bool

	kick       chan struct{}
	finishKick chan struct{} // wakes a paced wait when the finish arrives
	finished   chan struct{}
	canceled sync.Once
}

func newShipper(c *client.Client, attemptID int64, heartbeat time.Duration, log *slog.Logger, onCancel func()) *shipper {
	return &shipper{
		c: c, attemptID: attemptID, heartbeat: heartbeat, log: log, onCancel: onCancel,
		steps: map[int]lathe.StepReport{}, kick: make(chan struct{}, 1), finishKick: make(chan struct{}, 1),
		finished: make(chan struct{}),
	}
}

// Write adds log bytes. It never blocks on the network.
func (s *shipper) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.pending = append(s.pending, p...)
	s.written += int64(len(p))
	s.mu.Unlock()
	s.wake()
	return len(p), nil
}

// Offset is the log size so far (where the next byte will go).
func (s *shipper) Offset() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written
}

// Step records a step's latest state.
func (s *shipper) Step(st lathe.StepReport) {
	s.mu.Lock()
	s.steps[st.Index] = st
	s.mu.Unlock()
	s.wake()
}

// Finish records the attempt's result; Run returns once the server has it.
func (s *shipper) Finish(status lathe.Status) {
	s.mu.Lock()
	s.finish = &lathe.FinishReport{Status: status, LogSize: s.written}
	s.mu.Unlock()
	s.wake()
	select {
	case s.finishKick <- struct{}{}:
	default:
	}
}

func (s *shipper) finishing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finish != nil
}

// Fenced reports whether the server refused the attempt as no longer current.
func (s *shipper) Fenced() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fenced
}

func (s *shipper) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run sends reports until the finish is acknowledged or ctx ends: at once
// when something is pending, and every heartbeat interval regardless.
func (s *shipper) Run(ctx context.Context) {
	defer close(s.finished)
	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	backoff := 50 * time.Millisecond
	var last time.Time
	for {
		if wait := reportGap - time.Since(last); wait > 0 && !s.finishing() {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.finishKick:
			case <-ctx.Done():
				t.Stop()
				return
			}
			t.Stop()
		}
		last = time.Now()
		err := s.send(ctx)
		switch {
		case err == nil:
			backoff = 50 * time.Millisecond
		case errors.Is(err, lathe.ErrFenced):
		default:
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("report failed; retrying", "attempt_id", s.attemptID, "in", backoff, "err", err)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		s.mu.Lock()
		done, more := s.done, len(s.pending) > 0 || len(s.steps) > 0 || s.finish != nil
		s.mu.Unlock()
		if done {
			return
		}
		if more && err == nil {
			continue
		}
		select {
		case <-s.kick:
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// send builds one report from everything pending and applies the reply.
func (s *shipper) send(ctx context.Context) error {
	s.mu.Lock()
	rep := &lathe.Report{LogOffset: s.acked, Log: s.pending[:min(len(s.pending), maxReportLog)]}
	for _, st := range s.steps {
		rep.Steps = append(rep.Steps, st)
	}
	sentSteps := s.steps
	s.steps = map[int]lathe.StepReport{}
	if s.finish != nil && len(rep.Log) == len(s.pending) {
		rep.Finish = s.finish
	}
	s.mu.Unlock()

	reply, err := s.c.Report(ctx, s.attemptID, rep)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && !errors.Is(err, lathe.ErrFenced) {
		// Put the steps back unless newer states replaced them meanwhile.
		for i, st := range sentSteps {
			if _, ok := s.steps[i]; !ok {
				s.steps[i] = st
			}
		}
		return err
	}
	if errors.Is(err, lathe.ErrFenced) {
		s.fenced, s.done = true, true
		s.pending = nil
		s.requestCancel()
		return err
	}
	if n := reply.LogSize - s.acked; n > 0 && n <= int64(len(s.pending)) {
		s.pending = s.pending[n:]
		s.acked = reply.LogSize
	}
	if reply.Finished {
		s.done = true
		s.finish = nil
	}
	if reply.Cancel {
		s.requestCancel()
	}
	return nil
}

func (s *shipper) requestCancel() {
	s.canceled.Do(func() { go s.onCancel() })
}
