package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/agent"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// BenchmarkIdleClaim is one agent's empty claim (wait=0), as `lathe agent`
// asks with its host-info and claim-ID headers, against a server with no
// job queued; beside it the floor: the same client asking a plain net/http
// handler that answers 204. Client and server share this process, so the
// figures are this process's CPU per poll (user+system, from rusage) for
// both; the difference is what the server adds per request.
func BenchmarkIdleClaim(b *testing.B) {
	l := lathetest.Start(b, lathetest.Options{Agents: -1})
	_, _, cred := register(&testing.T{}, l, l.RegistrationToken(b), "bench-agent")
	if cred == "" {
		b.Fatal("register: no credential")
	}
	floor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := strconv.Atoi(r.URL.Query().Get("wait")); err != nil || r.Header.Get("Authorization") == "" {
			http.Error(w, "bad claim", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer floor.Close()
	poll := func(url string) func(n int) time.Duration {
		c := client.New(url, cred)
		agent.SendHostInfo(c, agent.Host())
		return func(n int) time.Duration {
			start := cpuTime()
			for i := 0; i < n; i++ {
				if as, err := c.ClaimNew(context.Background(), 0, "bench-"+strconv.Itoa(i)); err != nil || as != nil {
					b.Fatalf("claim: %v, %v", as, err)
				}
			}
			return cpuTime() - start
		}
	}
	lathePoll, floorPoll := poll(l.URL), poll(floor.URL)
	// Lathe and the floor take turns in rounds, so that other work on the
	// machine weighs on both alike.
	var d, f time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += idleRound {
		n := min(idleRound, b.N-done)
		d += lathePoll(n)
		b.StopTimer()
		f += floorPoll(n)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(d.Microseconds())/float64(b.N), "cpu-µs/poll")
	b.ReportMetric(float64(f.Microseconds())/float64(b.N), "floor-cpu-µs/poll")
	b.ReportMetric(float64(d)/float64(f), "×floor")
}

// idleRound is how many polls Lathe and the floor each make in a turn.
const idleRound = 1000

// cpuTime is this process's user and system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
