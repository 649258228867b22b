package agent

import (
	"context"
	"fmt"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
)

func TestWhatRenewsALease(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"an answer", nil, true},
		{"the server's own 503", &client.Error{Status: 503, Title: "Service Unavailable", Detail: "the database is unreachable; try again shortly"}, true},
		{"a proxy's 503", &client.Error{Status: 503, Title: "503 Service Unavailable"}, false},
		{"a 500", &client.Error{Status: 500, Title: "Internal Server Error", Detail: "internal error"}, false},
		{"fenced", fmt.Errorf("attempt 1: %w", lathe.ErrFenced), false},
		{"no answer", fmt.Errorf("post: %w", context.DeadlineExceeded), false},
	} {
		if got := renewsLease(c.err); got != c.want {
			t.Errorf("%s: renews the lease = %v; want %v", c.name, got, c.want)
		}
	}
}

// The steps stop a grace period and a margin before the lease can end,
// but never after less than half the lease unheard.
func TestLeaseWatchStopsInTimeForTheGrace(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ ttl, grace, after time.Duration }{
		{60 * time.Second, 10 * time.Second, 45 * time.Second},
		{20 * time.Second, 10 * time.Second, 10 * time.Second},
		{4 * time.Second, time.Second, 2600 * time.Millisecond},
		{6 * time.Second, 30 * time.Second, 3 * time.Second},
	} {
		if w := newLeaseWatch(c.ttl, c.grace, time.Now(), nil); w.after != c.after {
			t.Errorf("TTL %v, grace %v: stop after %v unheard; want %v", c.ttl, c.grace, w.after, c.after)
		}
	}
}

// While the server keeps hearing from the agent the steps run on; once it
// stops, they are stopped, not before the watch's time has passed.
func TestLeaseWatchStopsTheStepsOnceUnheard(t *testing.T) {
	t.Parallel()
	stopped := make(chan time.Time, 1)
	w := newLeaseWatch(time.Second, 100*time.Millisecond, time.Now(), func() { stopped <- time.Now() })
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(context.Background())
	}()
	var heard time.Time
	for range 15 {
		heard = time.Now()
		w.Heard(heard)
		select {
		case <-stopped:
			t.Fatal("stopped while heard")
		case <-time.After(100 * time.Millisecond):
		}
	}
	select {
	case at := <-stopped:
		if at.Sub(heard) < w.after {
			t.Errorf("stopped %v after the agent was last heard; want %v at least", at.Sub(heard), w.after)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("not stopped")
	}
	<-done
}
