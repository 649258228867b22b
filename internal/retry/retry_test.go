package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoffStaysWithinBaseAndCap(t *testing.T) {
	for _, draw := range []func(int64) int64{
		func(int64) int64 { return 0 },             // always the lowest
		func(n int64) int64 { return n - 1 },       // always the highest
		func(n int64) int64 { return (n - 1) / 2 }, // the middle
		nil, // the real random source
	} {
		b := Backoff{Base: 100 * time.Millisecond, Cap: 10 * time.Second, Int64N: draw}
		prev := b.Base
		for i := range 200 {
			d := b.Next()
			if d < b.Base || d > b.Cap || d > 3*prev {
				t.Fatalf("wait %d is %s: want within [%s, min(%s, 3×%s)]", i, d, b.Base, b.Cap, prev)
			}
			prev = d
		}
	}
}

func TestBackoffDoublesToTheCap(t *testing.T) {
	// The highest draw triples until it reaches the cap and stays there;
	// the middle one about doubles until the waits hover at the middle of
	// [Base, Cap].
	for _, c := range []struct {
		draw func(int64) int64
		last func(b Backoff) time.Duration
	}{
		{func(n int64) int64 { return n - 1 }, func(b Backoff) time.Duration { return b.Cap }},
		{func(n int64) int64 { return (n - 1) / 2 }, func(b Backoff) time.Duration { return b.Base + (b.Cap-b.Base)/2 }},
	} {
		b := Backoff{Base: 100 * time.Millisecond, Cap: 5 * time.Second, Int64N: c.draw}
		var waits []time.Duration
		for range 20 {
			waits = append(waits, b.Next())
		}
		for i := 1; i < len(waits); i++ {
			if waits[i] < waits[i-1] {
				t.Fatalf("waits shrink without a reset: %v", waits)
			}
		}
		if want := c.last(b); waits[len(waits)-1] != want {
			t.Fatalf("waits settle at %s, want %s: %v", waits[len(waits)-1], want, waits)
		}
	}
	// The lowest draw stays at the base.
	b := Backoff{Base: time.Second, Cap: time.Minute, Int64N: func(int64) int64 { return 0 }}
	for range 10 {
		if d := b.Next(); d != time.Second {
			t.Fatalf("lowest draw gave %s, want the base", d)
		}
	}
}

func TestBackoffReset(t *testing.T) {
	b := Backoff{Base: 50 * time.Millisecond, Cap: 5 * time.Second, Int64N: func(n int64) int64 { return n - 1 }}
	for range 20 {
		b.Next()
	}
	b.Reset()
	if d := b.Next(); d > 3*b.Base {
		t.Fatalf("after Reset the wait is %s, want at most 3×%s", d, b.Base)
	}
}

func TestBaseEqualToCap(t *testing.T) {
	b := Backoff{Base: time.Second, Cap: time.Second}
	for range 5 {
		if d := b.Next(); d != time.Second {
			t.Fatalf("wait %s, want 1s", d)
		}
	}
}

func TestWaitHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := Backoff{Base: time.Hour, Cap: time.Hour}
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a canceled context: %v", err)
	}
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a canceled context: %v", err)
	}
}

func TestDo(t *testing.T) {
	fast := Backoff{Base: time.Nanosecond, Cap: time.Nanosecond}
	transient, final := errors.New("transient"), errors.New("final")

	t.Run("until it succeeds", func(t *testing.T) {
		calls, retries := 0, 0
		err := Do(context.Background(), Policy{Backoff: fast, OnRetry: func(error, time.Duration) { retries++ }}, func() error {
			if calls++; calls < 4 {
				return transient
			}
			return nil
		})
		if err != nil || calls != 4 || retries != 3 {
			t.Fatalf("err %v after %d calls and %d retries, want nil after 4 and 3", err, calls, retries)
		}
	})
	t.Run("bounded tries", func(t *testing.T) {
		calls := 0
		err := Do(context.Background(), Policy{Backoff: fast, Tries: 3}, func() error { calls++; return transient })
		if !errors.Is(err, transient) || calls != 3 {
			t.Fatalf("err %v after %d calls, want transient after 3", err, calls)
		}
	})
	t.Run("bounded time", func(t *testing.T) {
		// The first wait (an hour) would end past Within (a minute): Do
		// gives up without sleeping it; with an hour to spare it goes on.
		calls := 0
		hour := Backoff{Base: time.Hour, Cap: time.Hour}
		err := Do(context.Background(), Policy{Backoff: hour, Within: time.Minute}, func() error { calls++; return transient })
		if !errors.Is(err, transient) || calls != 1 {
			t.Fatalf("err %v after %d calls, want transient after 1", err, calls)
		}
		calls = 0
		err = Do(context.Background(), Policy{Backoff: fast, Within: time.Hour}, func() error {
			if calls++; calls < 3 {
				return transient
			}
			return nil
		})
		if err != nil || calls != 3 {
			t.Fatalf("err %v after %d calls, want nil after 3", err, calls)
		}
	})
	t.Run("an error not worth retrying", func(t *testing.T) {
		calls := 0
		p := Policy{Backoff: fast, Retryable: func(err error) bool { return err == transient }}
		err := Do(context.Background(), p, func() error {
			if calls++; calls == 2 {
				return final
			}
			return transient
		})
		if !errors.Is(err, final) || calls != 2 {
			t.Fatalf("err %v after %d calls, want final after 2", err, calls)
		}
	})
	t.Run("context ends while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		err := Do(ctx, Policy{Backoff: Backoff{Base: time.Hour, Cap: time.Hour}, OnRetry: func(error, time.Duration) { cancel() }},
			func() error { calls++; return transient })
		if !errors.Is(err, context.Canceled) || calls != 1 {
			t.Fatalf("err %v after %d calls, want context.Canceled after 1", err, calls)
		}
	})
	t.Run("context ended before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		calls := 0
		err := Do(ctx, Policy{Backoff: fast}, func() error { calls++; return transient })
		if !errors.Is(err, transient) || calls != 1 {
			t.Fatalf("err %v after %d calls, want transient after 1", err, calls)
		}
	})
}
