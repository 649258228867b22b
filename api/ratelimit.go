package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter is a token bucket per client IP, in memory: it holds for one
// server replica; with several, each replica limits on its own (so a client
// gets up to N times the rate across N replicas).
type limiter struct {
	mu      sync.Mutex
	burst   float64
	per     time.Duration // one token comes back every per
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(burst int, per time.Duration) *limiter {
	return &limiter{burst: float64(burst), per: per, buckets: map[string]*bucket{}, now: time.Now}
}

// refill brings b up to date; the caller holds l.mu.
func (l *limiter) refill(key string) *bucket {
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 100_000 {
			l.buckets = map[string]*bucket{} // bound memory under a flood of addresses
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.per))
	b.at = now
	return b
}

// wait reports how long key must wait before its next event (0: it may go now).
func (l *limiter) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(l.per))
}

// take spends one token of key's bucket.
func (l *limiter) take(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(key).tokens--
}

// tooMany refuses with 429 and Retry-After when l has no token for the client.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, l *limiter, what string) error {
	ip := s.clientIP(r)
	d := l.wait(ip)
	if d == 0 {
		return nil
	}
	secs := int(math.Ceil(d.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return problemf(http.StatusTooManyRequests, "too many %s from %s; retry in %d s", what, ip, secs)
}

// failedToken counts an invalid token against the client, or refuses with
// 429 when the client has presented too many. It is called only once a token
// has proven invalid: a valid credential is never refused, even from an
// address that also sent bad ones (a shared NAT, a proxy).
func (s *Server) failedToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.tooMany(w, r, s.badTokens, "invalid credentials"); err != nil {
		return err
	}
	s.badTokens.take(s.clientIP(r))
	return nil
}

// Rate limits: a client gets loginBurst logins at once, then one per
// loginEvery; and badTokenBurst invalid tokens, then one per badTokenEvery.
// Valid tokens are not limited: a busy CI client must not be.
const (
	loginBurst    = 10
	loginEvery    = 6 * time.Second
	badTokenBurst = 20
	badTokenEvery = 3 * time.Second
	// hashWait is how long a login waits for a password-hashing slot
	// before it gets 429 (see auth.Hasher).
	hashWait = 2 * time.Second
	// maxHashSlots bounds the password hashing running at once, whatever
	// the number of CPUs: each slot holds 19 MiB and leaves as much garbage
	// for the GC, so 300 parallel logins peak at about 140 MB with 2 slots
	// and over 200 MB with 4 (TestParallelLoginsKeepServerMemoryBounded).
	// Two slots still check some 50 passwords a second.
	maxHashSlots = 2
)
