package delivery_test

import (
	"testing"
	"time"

	"github.com/lathe-ci/lathe/delivery"
)

// The waits follow the schedule (plus at most a tenth, drawn at random),
// and no try is made later than a day after the delivery was queued.
func TestNextTry(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	none := func(int64) int64 { return 0 }
	most := func(n int64) int64 { return n - 1 }
	now := created
	var waits []time.Duration
	for attempt := 1; ; attempt++ {
		next, ok := delivery.NextTry(attempt, created, now, none)
		if !ok {
			break
		}
		if attempt > 20 {
			t.Fatal("tries without end")
		}
		waits = append(waits, next.Sub(now))
		now = next
	}
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour}
	for i, w := range want {
		if i >= len(waits) || waits[i] != w {
			t.Fatalf("waits %v; want %v first", waits, want)
		}
	}
	if len(waits) != len(want)+1 || !now.Equal(created.Add(delivery.MaxAge)) {
		t.Errorf("waits %v end at %v; want one last try at the day's end, %v", waits, now, created.Add(delivery.MaxAge))
	}
	if next, _ := delivery.NextTry(1, created, created, most); next.Sub(created) != 5500*time.Millisecond {
		t.Errorf("with the most jitter: %v; want 5.5 s", next.Sub(created))
	}
}
