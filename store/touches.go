package store

import (
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// touchEvery is how often an agent's last_seen is written at most while it
// keeps asking for work: a small part of the online window, so an agent
// heard from never looks offline.
const touchEvery = lathe.AgentOnlineWindow / 12

// touches remembers when each agent's last_seen was last written by this
// server.
type touches struct {
	mu   sync.Mutex
	last map[int64]time.Time
}

// due reports whether the agent's last_seen should be written at now, and
// if so records that it is.
func (t *touches) due(id int64, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if at, ok := t.last[id]; ok && now.Sub(at) >= 0 && now.Sub(at) < touchEvery {
		return false
	}
	if t.last == nil {
		t.last = map[int64]time.Time{}
	}
	t.last[id] = now
	return true
}
