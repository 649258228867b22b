package store

import (
	"sync"
	"time"

	"github.com/lathe-ci/lathe/notify"
)

// An idle fleet asks for work hundreds of times a second and nearly every
// claim finds nothing. The idle-claim cache remembers, per set of labels,
// that a claim found nothing to run, with a mark of the Work messages
// published before it read the queue (notify.Local.WorkMark): while no
// message since would wake a claimer with those labels (WorkSince), the
// next claims with them can wait for one instead of reading the queue
// again (Store.NothingClaimable).
//
// What a claim may take changes only with such a message: a job queued
// (txn.queued, on this replica at once and from another through the
// notifier), a semaphore slot freed or an agent or group changed
// (wakeClaimers, key ""). A message lost between replicas is covered by
// the notifier's fallback, which publishes the queued jobs' keys, and by
// claimIdleTTL, past which an entry is not trusted whatever was heard.

// claimIdleTTL is how long a claim that found nothing vouches for the
// claims after it: at most one queue read per set of labels per TTL on an
// idle replica, and the longest a job queued with no message at all (there
// is none known) waits for a claim that arrives meanwhile.
const claimIdleTTL = 5 * time.Second

// claimIdleMax bounds the label sets remembered; past it, everything is
// forgotten.
const claimIdleMax = 1024

// workMarker is a notifier that can tell whether Work messages were
// published since a mark (notify.Local and notify.Postgres can).
type workMarker interface {
	WorkMark() uint64
	WorkSince(mark uint64, labels []string) bool
}

// claimIdle is the idle-claim cache.
type claimIdle struct {
	mu sync.Mutex
	m  map[string]idleEntry
}

// idleEntry is when a claim with one set of labels found nothing, and the
// mark of the Work messages taken before it read the queue.
type idleEntry struct {
	asOf time.Time
	mark uint64
}

// idleWatch is what a claim takes before it reads the queue, to settle
// the cache with if it finds nothing.
type idleWatch struct {
	key  string
	asOf time.Time
	mark uint64
	ok   bool
}

// watch returns the mark a claim with labels takes before it reads the queue.
func (s *Store) idleWatch(labels []string) idleWatch {
	wm, ok := s.notifier.(workMarker)
	if !ok {
		return idleWatch{}
	}
	return idleWatch{key: notify.LabelsKey(labels), asOf: s.now(), mark: wm.WorkMark(), ok: true}
}

// settle records that the claim that took w found nothing.
func (c *claimIdle) settle(w idleWatch) {
	if !w.ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[w.key]; ok && e.asOf.After(w.asOf) {
		return // a later claim's word stands
	}
	if c.m == nil || len(c.m) >= claimIdleMax {
		c.m = map[string]idleEntry{}
	}
	c.m[w.key] = idleEntry{asOf: w.asOf, mark: w.mark}
}

// reset forgets every entry.
func (c *claimIdle) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// NothingClaimable reports whether a claim by an agent with labels would
// find nothing to run, known without reading the queue: a claim with the
// same labels found nothing within claimIdleTTL, and no Work message that
// would wake a claimer with them was published since it began (see
// claimIdle). False means "read the queue", not that a job waits. A claim
// that skips the queue on its word must have taken its wait (ClaimSignal)
// first, so a job queued after the answer still wakes it.
func (s *Store) NothingClaimable(labels []string) bool {
	wm, ok := s.notifier.(workMarker)
	if !ok {
		return false
	}
	now := s.now()
	c := &s.idle
	c.mu.Lock()
	e, ok := c.m[notify.LabelsKey(labels)]
	c.mu.Unlock()
	if !ok || now.Sub(e.asOf) >= claimIdleTTL || now.Before(e.asOf) {
		return false
	}
	return !wm.WorkSince(e.mark, labels)
}
