package store

import (
	"time"

	"github.com/lathe-ci/lathe/clock"
)

// SetClock makes the store read the time from c: leases, timeouts and
// every time it records. Call it before serving; Open reads clock.System.
func (s *Store) SetClock(c clock.Clock) { s.now = func() time.Time { return c.Now().UTC() } }
