package store

import (
	"context"
	"sync"
	"time"

	"github.com/lathe-ci/lathe/notify"
)

// An idle fleet asks for work hundreds of times a second and nearly every
// claim finds nothing. The idle-claim cache remembers, per set of labels,
// that a claim found nothing to run and that no Work message that would
// wake such a claim (notify.Covers) has come since it began, so the next
// claim with those labels can wait for the message instead of reading the
// queue again (Store.NothingClaimable).
//
// The cache waits on the notifier with a wait of its own, taken before the
// claim that found nothing read the queue: a job committed after that read
// began publishes a message (on this replica at once, from another through
// the notifier) that closes the wait, and a closed wait is never trusted.
// What a claim may take changes only with such a message: a job queued
// (txn.queued), a semaphore slot freed or an agent or group changed
// (wakeClaimers, key ""). A message lost between replicas is covered by
// the notifier's fallback, which publishes the queued jobs' keys, and by
// claimIdleTTL, past which an entry is not trusted whatever was heard.

// claimIdleTTL is how long a claim that found nothing vouches for the
// claims after it: at most one queue read per set of labels per TTL on an
// idle replica, and the longest a job queued with no message at all (there
// is none known) waits for a claim that arrives meanwhile.
const claimIdleTTL = 5 * time.Second

// claimIdleMax bounds the label sets remembered; past it, the stale ones
// are dropped, and if none were, everything.
const claimIdleMax = 1024

// claimIdle is the idle-claim cache.
type claimIdle struct {
	mu sync.Mutex
	m  map[string]*idleEntry
}

// idleEntry is one set of labels: the cache's wait for Work messages a
// claim with them wakes for, and since when a claim found nothing.
type idleEntry struct {
	wake  <-chan struct{}
	stop  context.CancelFunc
	empty bool
	asOf  time.Time
}

// idleWatch is what claimIdle.watch gives a claim to settle with.
type idleWatch struct {
	key   string
	entry *idleEntry
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// watch returns the wait a claim with labels takes before it reads the
// queue: the entry's own while no message has closed it, else a new one.
func (c *claimIdle) watch(n notify.Notifier, labels []string) idleWatch {
	key := notify.LabelsKey(labels)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[key]
	if e != nil && !closed(e.wake) {
		return idleWatch{key, e}
	}
	if e != nil {
		e.stop()
	} else if len(c.m) >= claimIdleMax {
		c.dropStale()
	}
	if c.m == nil {
		c.m = map[string]*idleEntry{}
	}
	ctx, stop := context.WithCancel(context.Background())
	if labels == nil {
		labels = []string{}
	}
	e = &idleEntry{wake: n.Wait(ctx, notify.Filter{Topic: notify.Work, Labels: labels}), stop: stop}
	c.m[key] = e
	return idleWatch{key, e}
}

// settle records that the claim that took w found nothing at now, unless a
// message came since it took w.
func (c *claimIdle) settle(w idleWatch, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[w.key] == w.entry && !closed(w.entry.wake) {
		w.entry.empty, w.entry.asOf = true, now
	}
}

// empty reports whether a claim with labels found nothing within
// claimIdleTTL of now and no message a claim with them wakes for came
// since.
func (c *claimIdle) empty(labels []string, now time.Time) bool {
	key := notify.LabelsKey(labels)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[key]
	return e != nil && e.empty && now.Sub(e.asOf) < claimIdleTTL && now.Sub(e.asOf) >= 0 && !closed(e.wake)
}

// dropStale forgets the entries a message has closed, and everything if
// none was. Call it with c.mu held.
func (c *claimIdle) dropStale() {
	for k, e := range c.m {
		if closed(e.wake) {
			e.stop()
			delete(c.m, k)
		}
	}
	if len(c.m) >= claimIdleMax {
		c.reset()
	}
}

// reset forgets every entry. Call it with c.mu held.
func (c *claimIdle) reset() {
	for _, e := range c.m {
		e.stop()
	}
	c.m = nil
}

// NothingClaimable reports whether a claim by an agent with labels would
// find nothing to run, known without reading the queue: a claim with the
// same labels found nothing moments ago and nothing it could run was
// queued since (see claimIdle). False means "read the queue", not that a
// job waits. A claim that skips the queue on its word must first take its
// wait (ClaimSignal), so a job queued after the answer still wakes it.
func (s *Store) NothingClaimable(labels []string) bool {
	return s.idle.empty(labels, s.now())
}
