package lathe

import (
	"bytes"
	"testing"
	"time"
)

func TestStampLines(t *testing.T) {
	t1 := time.Date(2026, 12, 3, 10, 0, 0, 1000, time.UTC)
	t2 := t1.Add(1500 * time.Millisecond)
	arrivals := []LogArrival{{Offset: 0, At: t1}, {Offset: 6, At: t2}, {Offset: 12}}
	log := "one\ntwo\nthree\nfour" // chunks: "one\ntw" "o\nthre" "e\nfour"
	for _, tc := range []struct {
		name string
		base int
		data string
		want string
	}{
		{"whole", 0, log, "2026-12-03T10:00:00.000001Z one\n" +
			"2026-12-03T10:00:00.000001Z two\n" +
			"2026-12-03T10:00:01.500001Z three\n" +
			"-                           four"},
		{"from inside a line", 5, log[5:10], "2026-12-03T10:00:00.000001Z wo\n2026-12-03T10:00:01.500001Z th"},
		{"empty", 3, "", ""},
		{"ends with newline", 0, "one\n", "2026-12-03T10:00:00.000001Z one\n"},
	} {
		if got := string(StampLines([]byte(tc.data), int64(tc.base), arrivals)); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// A live stream's events stamp each line once: a piece of the log that
// starts inside a line leaves that line's head to the piece before it, so
// the pieces put together read as the log stamped whole.
func TestStampContinuing(t *testing.T) {
	t1 := time.Date(2026, 12, 3, 10, 0, 0, 1000, time.UTC)
	t2 := t1.Add(1500 * time.Millisecond)
	arrivals := []LogArrival{{Offset: 0, At: t1}, {Offset: 6, At: t2}, {Offset: 12}}
	log := []byte("one\ntwo\nthree\nfour")
	whole := string(StampLines(log, 0, arrivals))
	for _, cuts := range [][]int{{5}, {4}, {3, 8}, {1, 2, 7, 14, 17}} {
		var got string
		from := 0
		for _, to := range append(cuts, len(log)) {
			got += string(StampContinuing(log[from:to], int64(from), arrivals, from > 0 && log[from-1] != '\n'))
			from = to
		}
		if got != whole {
			t.Errorf("cut at %v:\n got %q\nwant %q", cuts, got, whole)
		}
	}
	if got := string(StampContinuing([]byte("wo\nthr"), 5, arrivals, true)); got != "wo\n2026-12-03T10:00:01.500001Z thr" {
		t.Errorf("mid-line piece: %q", got)
	}
}

// BenchmarkStampContinuing stamps 256 KiB of 64-byte lines, as one event of
// a stream read with timestamps; the floor is copying the same bytes.
func BenchmarkStampContinuing(b *testing.B) {
	line := []byte("ok  github.com/lathe-ci/lathe/api 1.234s (cached) -----------\n")
	data := bytes.Repeat(line, 256<<10/len(line))
	var arrivals []LogArrival
	for off := 0; off < len(data); off += 4096 {
		arrivals = append(arrivals, LogArrival{Offset: int64(off), At: time.Unix(int64(off), 0)})
	}
	b.Run("floor-copy", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			_ = append([]byte(nil), data...)
		}
	})
	b.Run("stamp", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			StampContinuing(data, 1<<20, arrivals, true)
		}
	})
}
