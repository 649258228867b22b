package store

import "sync"

// signal wakes every goroutine waiting on it. Waiters take the channel from
// wait before checking the database, then block on it; fire closes it, so a
// change committed between the check and the block is never missed.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// keyedSignal is a signal per key (an attempt, a run), created on first wait
// and dropped when fired, so idle keys cost nothing.
type keyedSignal struct {
	mu sync.Mutex
	m  map[int64]chan struct{}
}

func (k *keyedSignal) wait(key int64) <-chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[int64]chan struct{}{}
	}
	ch, ok := k.m[key]
	if !ok {
		ch = make(chan struct{})
		k.m[key] = ch
	}
	return ch
}

func (k *keyedSignal) fire(key int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if ch, ok := k.m[key]; ok {
		close(ch)
		delete(k.m, key)
	}
}

// signals are the store's change notifications. They are in-process: with
// several PostgreSQL replicas, LISTEN/NOTIFY will fire them across servers.
type signals struct {
	work signal      // jobs were queued
	logs keyedSignal // an attempt's log or status changed, by attempt ID
	runs keyedSignal // a run's jobs changed status, by run ID
}

// WorkSignal returns a channel closed when jobs are next queued.
func (s *Store) WorkSignal() <-chan struct{} { return s.signals.work.wait() }

// AttemptSignal returns a channel closed when the attempt's log grows or it finishes.
func (s *Store) AttemptSignal(attemptID int64) <-chan struct{} { return s.signals.logs.wait(attemptID) }

// RunSignal returns a channel closed when any job of the run changes status.
func (s *Store) RunSignal(runID int64) <-chan struct{} { return s.signals.runs.wait(runID) }
