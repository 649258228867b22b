package agent

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/lathe-ci/lathe/secret"
)

// A job that gets secrets has every value masked before its output reaches
// the spool, so no secret is ever on the agent's disk or sent to the
// server. Steps then write into a pipe instead of the spool itself; one
// goroutine per step copies the pipe through the job's Masker into the
// spool, and the agent's own lines go through the same Masker. A job with
// no secrets keeps writing straight into the spool.

// stepDrainWait bounds how long the end of a step waits for its output
// pipe to drain: longer only when a process the step left in the
// background still holds the pipe, and its later output then simply lands
// after the step's end.
const stepDrainWait = time.Second

// masking is the masked path into an attempt's spool.
type masking struct {
	mu      sync.Mutex // guards mk and the spool writes it makes
	mk      *secret.Masker
	copiers sync.WaitGroup
	pipes   map[*os.File]bool // read ends still open
}

// spoolWriter writes into the spool and wakes the shipper.
type spoolWriter struct{ s *shipper }

func (w spoolWriter) Write(p []byte) (int, error) {
	n, err := w.s.spool.Write(p)
	w.s.wake()
	return n, err
}

// maskSecrets makes every later write to the attempt's log mask values.
func (s *shipper) maskSecrets(values []string) {
	ms := secret.NewMasks(values)
	if ms.Empty() {
		return
	}
	s.mask = &masking{mk: ms.Writer(spoolWriter{s}), pipes: map[*os.File]bool{}}
}

// writeMasked is Write for a masked attempt: the agent's lines are whole,
// so each is flushed at once.
func (m *masking) write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.mk.Write(p); err != nil {
		return 0, err
	}
	return len(p), m.mk.Flush()
}

// StepOutput is the file a step's processes write to, and the function to
// call when the step has ended: the spool itself, or for a masked attempt
// a pipe whose output is masked on its way into the spool. Once end has
// returned, the step's output is in the spool.
func (s *shipper) StepOutput() (out *os.File, end func(), err error) {
	m := s.mask
	if m == nil {
		return s.Spool(), func() {}, nil
	}
	s.handedOut.Store(true) // the copier writes into the spool for as long as the pipe is held
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("step output pipe: %w", err)
	}
	m.mu.Lock()
	m.pipes[r] = true
	m.mu.Unlock()
	done := make(chan struct{})
	m.copiers.Add(1)
	go func() {
		defer m.copiers.Done()
		defer close(done)
		m.copy(r)
	}()
	return w, func() {
		w.Close() // the step's processes hold their own copies
		t := time.NewTimer(stepDrainWait)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		}
		m.mu.Lock()
		m.mk.Flush()
		m.mu.Unlock()
	}, nil
}

// copy masks what arrives on r into the spool until every writer has
// closed r (or the job's end closes it).
func (m *masking) copy(r *os.File) {
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			m.mu.Lock()
			m.mk.Write(buf[:n])
			m.mu.Unlock()
		}
		if err != nil {
			break
		}
	}
	m.mu.Lock()
	if m.pipes[r] {
		delete(m.pipes, r)
		r.Close()
	}
	m.mu.Unlock()
}

// endMasking passes on everything still held once the job's processes are
// gone; call it before Finish. Pipes still held open by processes that
// escaped the job's process groups are closed after a grace period.
func (s *shipper) endMasking() error {
	m := s.mask
	if m == nil {
		return nil
	}
	done := make(chan struct{})
	go func() { m.copiers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		m.mu.Lock()
		for r := range m.pipes {
			delete(m.pipes, r)
			r.Close()
		}
		m.mu.Unlock()
		<-done
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.mk.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}
