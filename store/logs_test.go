package store_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

func TestReadLogWholeAndByRange(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a, as := runningAttempt(t, s)
		// Three chunks: [0,6) "hello " [6,12) "world\n" [12,16) "bye\n".
		for _, c := range []struct {
			off  int64
			data string
		}{{0, "hello "}, {6, "world\n"}, {12, "bye\n"}} {
			mustReport(t, s, a, as.AttemptID, &lathe.Report{LogOffset: c.off, Log: []byte(c.data)})
		}
		const whole = "hello world\nbye\n"
		for _, tc := range []struct {
			off, limit int64
			want       string
		}{
			{0, 1 << 20, whole},
			{0, 16, whole},
			{0, 6, "hello "},
			{0, 3, "hel"},
			{2, 3, "llo"},
			{4, 5, "o wor"},      // across the first boundary
			{5, 8, " world\nb"},  // across both boundaries
			{11, 100, "\nbye\n"}, // to the end
			{15, 1, "\n"},        // last byte
			{16, 10, ""},         // at the end
			{1000, 10, ""},       // past the end
		} {
			data, att, err := s.ReadLog(ctx, as.AttemptID, tc.off, tc.limit)
			if err != nil {
				t.Errorf("ReadLog(%d, %d): %v", tc.off, tc.limit, err)
				continue
			}
			if string(data) != tc.want || att.LogSize != int64(len(whole)) || att.Status != lathe.StatusRunning {
				t.Errorf("ReadLog(%d, %d) = %q (size %d, %s), want %q", tc.off, tc.limit, data, att.LogSize, att.Status, tc.want)
			}
		}
		for _, tc := range []struct{ off, limit int64 }{{-1, 10}, {0, 0}, {0, -5}} {
			_, _, err := s.ReadLog(ctx, as.AttemptID, tc.off, tc.limit)
			wantErr(t, fmt.Sprintf("ReadLog(%d, %d)", tc.off, tc.limit), err, lathe.ErrInvalid)
		}
		_, _, err := s.ReadLog(ctx, 999999, 0, 10)
		wantErr(t, "ReadLog of a missing attempt", err, lathe.ErrNotFound)
	})
}

// Log bytes are placed by offset, so whatever the network does to reports —
// resend, overlap, reorder — the stored log is a prefix of what the agent
// wrote, and the reply says where to resume.
func TestLogAppendsAreIdempotent(t *testing.T) {
	type send struct {
		off      int64
		data     string
		wantSize int64 // reply.LogSize
	}
	for _, tc := range []struct {
		name    string
		sends   []send
		wantLog string
	}{
		{"in order", []send{{0, "abc", 3}, {3, "def", 6}}, "abcdef"},
		{"the same chunk twice", []send{{0, "abc", 3}, {0, "abc", 3}, {3, "def", 6}, {3, "def", 6}}, "abcdef"},
		{"an overlapping chunk adds only its new bytes", []send{{0, "abcd", 4}, {2, "cdef", 6}}, "abcdef"},
		{"a chunk inside what is held changes nothing", []send{{0, "abcdef", 6}, {2, "cd", 6}}, "abcdef"},
		{"a chunk past the end leaves no gap", []send{{0, "abc", 3}, {5, "fgh", 3}, {3, "de", 5}, {5, "fgh", 8}}, "abcdefgh"},
		{"the first chunk lost", []send{{3, "def", 0}, {0, "abc", 3}, {3, "def", 6}}, "abc" + "def"},
		{"an empty chunk", []send{{0, "", 0}, {0, "ab", 2}, {2, "", 2}, {9, "", 2}}, "ab"},
		{"held bytes are kept, only bytes past them are taken", []send{{0, "abc", 3}, {1, "XYZW", 5}}, "abcZW"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, s *store.Store) {
				a, as := runningAttempt(t, s)
				for i, sd := range tc.sends {
					reply := mustReport(t, s, a, as.AttemptID, &lathe.Report{LogOffset: sd.off, Log: []byte(sd.data)})
					if reply.LogSize != sd.wantSize {
						t.Errorf("send %d (%q at %d): reply size %d, want %d", i, sd.data, sd.off, reply.LogSize, sd.wantSize)
					}
				}
				if got := readLog(t, s, as.AttemptID); got != tc.wantLog {
					t.Errorf("log = %q, want %q", got, tc.wantLog)
				}
			})
		})
	}
}

// The property: split a log into random chunks, deliver them with random
// duplicates (some spanning several chunks) and in random order, then let the agent resend from the size
// each reply reports, as the protocol says; the stored log is byte for byte
// what was written, and no reply ever claims more than a correct prefix.
func TestLogSurvivesAnyDeliveryOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		iterations := 200
		if s.Engine() == "postgres" {
			iterations = 50
		}
		p := mustProject(t, s, "logs")
		a := mustAgent(t, s, "writer")
		for i := range iterations {
			rng := rand.New(rand.NewPCG(20240611, uint64(i)))
			want := make([]byte, rng.IntN(5000))
			for k := range want {
				want[k] = byte(rng.IntN(256)) // any bytes, NULs and invalid UTF-8 included
			}
			mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build"))
			as := mustClaim(t, s, a)

			type chunk struct{ off, end int }
			var chunks []chunk
			for off := 0; off < len(want); {
				end := min(off+1+rng.IntN(700), len(want))
				chunks = append(chunks, chunk{off, end})
				off = end
			}
			deliveries := append([]chunk(nil), chunks...)
			for range rng.IntN(len(chunks) + 1) {
				// A duplicate, or a resend that spans several chunks (and so overlaps others).
				x := rng.IntN(len(chunks))
				y := x
				if rng.IntN(3) == 0 {
					y = x + rng.IntN(len(chunks)-x)
				}
				deliveries = append(deliveries, chunk{chunks[x].off, chunks[y].end})
			}
			rng.Shuffle(len(deliveries), func(x, y int) { deliveries[x], deliveries[y] = deliveries[y], deliveries[x] })

			var held int64
			send := func(c chunk) {
				t.Helper()
				reply := mustReport(t, s, a, as.AttemptID, &lathe.Report{LogOffset: int64(c.off), Log: want[c.off:c.end]})
				if reply.LogSize < held || reply.LogSize > int64(len(want)) {
					t.Fatalf("iteration %d: reply size went from %d to %d (log is %d bytes)", i, held, reply.LogSize, len(want))
				}
				held = reply.LogSize
			}
			for _, c := range deliveries {
				send(c)
			}
			// The agent resends from what the server holds, in chunks of its choosing.
			for held < int64(len(want)) {
				send(chunk{int(held), min(int(held)+1+rng.IntN(700), len(want))})
			}
			reply := mustReport(t, s, a, as.AttemptID, &lathe.Report{
				LogOffset: int64(len(want)),
				Finish:    &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: int64(len(want))},
			})
			if !reply.Finished {
				t.Fatalf("iteration %d: finish with the whole log held not applied: %+v", i, reply)
			}

			if got := readLog(t, s, as.AttemptID); !bytes.Equal([]byte(got), want) {
				t.Fatalf("iteration %d (PCG seed 20240611, %d): stored log differs: %d bytes, want %d; first difference at %d",
					i, i, len(got), len(want), firstDifference([]byte(got), want))
			}
			for range 3 {
				off := rng.Int64N(int64(len(want)) + 2)
				limit := 1 + rng.Int64N(1000)
				data, _, err := s.ReadLog(t.Context(), as.AttemptID, off, limit)
				if err != nil {
					t.Fatal(err)
				}
				lo, hi := min(off, int64(len(want))), min(off+limit, int64(len(want)))
				if !bytes.Equal(data, want[lo:hi]) {
					t.Fatalf("iteration %d: ReadLog(%d, %d) differs from the written bytes", i, off, limit)
				}
			}
		}
	})
}

// runningAttempt makes a fresh run whose only job is claimed by a fresh agent.
func runningAttempt(t *testing.T, s *store.Store) (*lathe.Agent, *lathe.Assignment) {
	t.Helper()
	p := mustProject(t, s, "web")
	a := mustAgent(t, s, "a1")
	r := mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build"))
	as := mustClaim(t, s, a)
	if as.RunID != r.ID {
		t.Fatalf("claimed a job of run %d, want run %d", as.RunID, r.ID)
	}
	return a, as
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
