package server

import (
	"testing"
	"time"
)

// The schedule loop ticks on the wall clock's multiples of its interval:
// a schedule due at 03:00 fires at 03:00:00, not up to 30 s later.
func TestScheduleTicksAreOnTheClock(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		now      string
		interval time.Duration
		want     string
	}{
		{"2026-12-07T02:59:37.25Z", 30 * time.Second, "2026-12-07T03:00:00Z"},
		{"2026-12-07T03:00:00Z", 30 * time.Second, "2026-12-07T03:00:30Z"},
		{"2026-12-07T03:00:00.001Z", 30 * time.Second, "2026-12-07T03:00:30Z"},
		{"2026-12-07T03:00:29.999Z", 30 * time.Second, "2026-12-07T03:00:30Z"},
		{"2026-12-07T03:00:07Z", 10 * time.Millisecond, "2026-12-07T03:00:07.01Z"},
	} {
		if got := nextTick(at(tc.now), tc.interval); !got.Equal(at(tc.want)) {
			t.Errorf("nextTick(%s, %s) = %s, want %s", tc.now, tc.interval, got.Format(time.RFC3339Nano), tc.want)
		}
	}
}
