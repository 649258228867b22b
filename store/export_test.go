package store

import "time"

// SetClock makes the store read the time from now (tests of leases and
// timeouts move it instead of sleeping).
func SetClock(s *Store, now func() time.Time) { s.now = now }
