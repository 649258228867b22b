// Package clock is the time the server's scheduling decisions read: lease
// expiry, job and queue timeouts, cron schedules, credential caching. The
// server passes one Clock to the store and its loops; tests pass a Manual
// clock and move it instead of sleeping.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// System is the machine's clock, in UTC.
var System Clock = system{}

type system struct{}

func (system) Now() time.Time { return time.Now().UTC() }

// Manual is a clock that moves only when told. The zero Manual reads the
// zero time; NewManual starts it at a given time.
type Manual struct {
	mu sync.Mutex
	t  time.Time
}

// NewManual returns a Manual clock reading t.
func NewManual(t time.Time) *Manual { return &Manual{t: t} }

// Now implements Clock.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.t
}

// Advance moves the clock on by d.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.t = m.t.Add(d)
	m.mu.Unlock()
}

// Set sets the clock to t.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.t = t
	m.mu.Unlock()
}
