// Package retry waits between tries of something that may pass on its own
// (a server that is restarting, a network that drops), so that many agents
// retrying the same server spread out instead of arriving together.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff hands out the waits between tries: each is drawn at random
// between Base and three times the one before, and never above Cap
// ("decorrelated jitter"), so the waits grow, doubling on average at the
// start, to the cap while no two clients keep the same rhythm. The zero
// value is not usable: set Base and Cap (Base > 0, Cap >= Base).
type Backoff struct {
	Base, Cap time.Duration
	// Int64N draws a number in [0, n); nil is math/rand/v2's. Tests set it
	// to make the waits deterministic.
	Int64N func(n int64) int64

	prev time.Duration
}

// Next is the wait before the next try.
func (b *Backoff) Next() time.Duration {
	if b.prev < b.Base {
		b.prev = b.Base
	}
	draw := b.Int64N
	if draw == nil {
		draw = rand.Int64N
	}
	hi := min(3*b.prev, b.Cap) // the span is [Base, hi]
	d := b.Base
	if span := int64(hi - b.Base); span > 0 {
		d += time.Duration(draw(span + 1))
	}
	b.prev = d
	return d
}

// Reset starts the waits over from Base, after a try that succeeded.
func (b *Backoff) Reset() { b.prev = 0 }

// Sleep waits d, or less if ctx ends first, when it returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait sleeps for the next wait of b (see Sleep).
func (b *Backoff) Wait(ctx context.Context) error { return Sleep(ctx, b.Next()) }

// Policy says how Do retries.
type Policy struct {
	Backoff Backoff
	// Tries bounds the calls of fn; 0 is no bound.
	Tries int
	// Within bounds the time spent: no try starts, and no wait runs past,
	// that long after the first try started; 0 is no bound.
	Within time.Duration
	// Retryable reports whether a try that failed with err is worth
	// another; nil retries every error.
	Retryable func(err error) bool
	// OnRetry, if set, is told of each failed try before the wait.
	OnRetry func(err error, wait time.Duration)
}

// Do calls fn until it succeeds, fails with an error p.Retryable rejects,
// has been called p.Tries times, would start after p.Within, or ctx ends. It returns fn's last error,
// or ctx's if ctx ended while waiting.
func Do(ctx context.Context, p Policy, fn func() error) error {
	var end time.Time
	if p.Within > 0 {
		end = time.Now().Add(p.Within)
	}
	for try := 1; ; try++ {
		err := fn()
		if err == nil || try == p.Tries || ctx.Err() != nil || p.Retryable != nil && !p.Retryable(err) {
			return err
		}
		wait := p.Backoff.Next()
		if !end.IsZero() && time.Now().Add(wait).After(end) {
			return err // the next try would start too late
		}
		if p.OnRetry != nil {
			p.OnRetry(err, wait)
		}
		if err := Sleep(ctx, wait); err != nil {
			return err
		}
	}
}
