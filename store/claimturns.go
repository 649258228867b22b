package store

import (
	"sync"

	"github.com/lathe-ci/lathe/notify"
)

// claimTurns are the locks claims take turns by (see claimTry), one per set
// of labels: claimers with the same labels want the same first job, while
// claimers with other labels mostly want others and need not wait. Past
// claimTurnsMax sets, the rest share one lock.
type claimTurns struct {
	mu     sync.Mutex
	m      map[string]*sync.Mutex
	shared sync.Mutex
}

// claimTurnsMax bounds the label sets with a lock of their own.
const claimTurnsMax = 1024

// of returns the lock of the label set.
func (c *claimTurns) of(labels []string) *sync.Mutex {
	key := notify.LabelsKey(labels)
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.m[key]; ok {
		return l
	}
	if len(c.m) >= claimTurnsMax {
		return &c.shared
	}
	if c.m == nil {
		c.m = map[string]*sync.Mutex{}
	}
	l := &sync.Mutex{}
	c.m[key] = l
	return l
}
