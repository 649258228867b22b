package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// touchEvery is how often an agent's last_seen is written at most while it
// keeps asking for work: a small part of the online window, so an agent
// heard from never looks offline.
const touchEvery = lathe.AgentOnlineWindow / 12

// touchFlush is how long a due write of last_seen may wait to be made with
// the others due meanwhile, in one statement: an idle fleet long-polls
// hundreds of times a second, and a transaction each would be most of
// what a poll costs.
const touchFlush = time.Second

// touchBatch bounds the agents one statement records as seen.
const touchBatch = 500

// touches remembers when each agent's last_seen was last written by this
// server, and holds the writes that wait for the next flush.
type touches struct {
	mu   sync.Mutex
	last map[int64]time.Time
	// pending are the agents seen since the last flush, with when first.
	pending map[int64]time.Time
	timer   *time.Timer
	// flushing counts the scheduled flushes not yet done.
	flushing sync.WaitGroup
}

// due reports whether the agent's last_seen should be written at now, and
// if so records that it is; first says this server never wrote it.
func (t *touches) due(id int64, now time.Time) (due, first bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.last[id]
	if ok && now.Sub(at) >= 0 && now.Sub(at) < touchEvery {
		return false, false
	}
	if t.last == nil {
		t.last = map[int64]time.Time{}
	}
	t.last[id] = now
	return true, !ok
}

// defer_ queues the agent's write for the next flush, which it schedules
// (flush runs in its own goroutine touchFlush later) unless one is.
func (t *touches) defer_(id int64, now time.Time, flush func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = map[int64]time.Time{}
	}
	if _, ok := t.pending[id]; !ok {
		t.pending[id] = now
	}
	if t.timer == nil {
		t.flushing.Add(1)
		t.timer = time.AfterFunc(touchFlush, func() {
			defer t.flushing.Done()
			flush()
		})
	}
}

// take returns the pending writes and forgets them.
func (t *touches) take() map[int64]time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pending
	t.pending, t.timer = nil, nil
	return p
}

// stop cancels the scheduled flush and waits for one under way, then
// returns the pending writes (the store is closing).
func (t *touches) stop() map[int64]time.Time {
	t.mu.Lock()
	if t.timer != nil && t.timer.Stop() {
		t.flushing.Done()
	}
	t.mu.Unlock()
	t.flushing.Wait()
	return t.take()
}

// TouchAgent records that the agent was just heard from.
// An agent seen again within touchEvery of the last record is not written
// again: its every claim request would be a write, for a last_seen that only
// needs to be fresher than lathe.AgentOnlineWindow. The first record this
// server makes of an agent is written before TouchAgent returns; later ones
// within touchFlush, together.
func (s *Store) TouchAgent(ctx context.Context, id int64) error {
	now := s.now()
	due, first := s.touched.due(id, now)
	switch {
	case !due:
		return nil
	case first:
		return s.writeSeen(ctx, map[int64]time.Time{id: now})
	}
	s.touched.defer_(id, now, func() { s.writeSeen(context.Background(), s.touched.take()) })
	return nil
}

// flushTouches writes the pending records of agents seen (Close calls it).
func (s *Store) flushTouches() error {
	return s.writeSeen(context.Background(), s.touched.stop())
}

// writeSeen records agents as seen, each at its time or later, in
// statements of touchBatch agents at most, at the earliest of their times
// (never moving last_seen back).
func (s *Store) writeSeen(ctx context.Context, seen map[int64]time.Time) error {
	var ids []any
	var at time.Time
	write := func() error {
		if len(ids) == 0 {
			return nil
		}
		args := append([]any{micros(at), micros(at)}, ids...)
		q := `UPDATE agents SET last_seen = ? WHERE (last_seen IS NULL OR last_seen < ?) AND id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
		err := s.tx(ctx, func(t *txn) error {
			_, err := t.exec(ctx, q, args...)
			return err
		})
		ids, at = ids[:0], time.Time{}
		if err != nil {
			return fmt.Errorf("record agents as seen: %w", err)
		}
		return nil
	}
	for id, t := range seen {
		if at.IsZero() || t.Before(at) {
			at = t
		}
		if ids = append(ids, id); len(ids) == touchBatch {
			if err := write(); err != nil {
				return err
			}
		}
	}
	return write()
}
