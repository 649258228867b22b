package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// The idle-poll floor: the same simulated agents, with the same client
// code and poll wait, long-polling a plain net/http server (this binary
// run as a child with floorServeArg) whose claim handler waits out the
// poll and answers 204 — no authentication, database, notifier or
// middleware. Its CPU per poll is what an idle poll costs at the least in
// Go on this machine, set beside Lathe's measured in the same run.

// floorServeArg makes this binary serve the floor (see serveLongPollFloor).
const floorServeArg = "serve-long-poll-floor"

// serveLongPollFloor serves the floor on 127.0.0.1, prints its URL, and
// returns at SIGTERM or SIGINT.
func serveLongPollFloor() int {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/agent/claim", func(w http.ResponseWriter, r *http.Request) {
		wait, err := strconv.Atoi(r.URL.Query().Get("wait"))
		if err != nil || r.Header.Get("Authorization") == "" {
			http.Error(w, "bad claim", http.StatusBadRequest)
			return
		}
		t := time.NewTimer(time.Duration(wait) * time.Second)
		defer t.Stop()
		select {
		case <-t.C:
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("GET /metrics", serveGoMemory)
	if err := serveFloor(mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// serveGoMemory writes the Go runtime figures readGoMemory reads, under the
// names the Prometheus Go collector gives them, so the floor's memory
// splits into stacks and heap as Lathe's does.
func serveGoMemory(w http.ResponseWriter, _ *http.Request) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Fprintf(w, "go_goroutines %d\ngo_memstats_stack_inuse_bytes %d\ngo_memstats_heap_inuse_bytes %d\ngo_memstats_heap_sys_bytes %d\n",
		runtime.NumGoroutine(), m.StackInuse, m.HeapInuse, m.HeapSys)
}

// pollFloor is the floor's result.
type pollFloor struct {
	Agents     int     `json:"agents"`
	Polls      int64   `json:"polls_in_window"`
	Window     float64 `json:"window_seconds"`
	CPUPerPoll float64 `json:"server_cpu_per_poll_ms"`
	RSSMB      float64 `json:"rss_mb"`
	Errors     int64   `json:"errors"`
	// Go is the floor's Go runtime at the end of the window.
	Go *goMemory `json:"go_memory,omitempty"`
}

// measurePollFloor runs n simulated agents against the floor server for a
// window of a poll and a fifth, and a second, after every agent's first
// poll has ended, as the fleet sections measure Lathe.
func measurePollFloor(ctx context.Context, n, pollSec int) (*pollFloor, error) {
	c, url, err := startFloor("long-poll floor", floorServeArg)
	if err != nil {
		return nil, err
	}
	defer c.stop(stopTimeout)
	creds := make([]string, n)
	for i := range creds {
		creds[i] = fmt.Sprintf("floor-%d", i)
	}
	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	p := &pollers{}
	p.start(pollCtx, url, creds, pollSec)
	res := &pollFloor{Agents: n}
	for deadline := time.Now().Add(3 * time.Minute); p.inFlight.Load() < int64(n); {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("floor: %d of %d agents polling after 3 minutes", p.inFlight.Load(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.firstRoundDone(ctx, int64(n), c.running); err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	window := time.Duration(pollSec)*1200*time.Millisecond + time.Second
	cpu0, err := readProcCPU(c.pid())
	if err != nil {
		return nil, err
	}
	polls0, t0 := p.polls.Load(), time.Now()
	for time.Since(t0) < window {
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.pid())); err == nil {
			res.RSSMB = max(res.RSSMB, procKB(st, "VmRSS")/1024)
		}
		select {
		case <-time.After(fleetSample):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	cpu1, err := readProcCPU(c.pid())
	if err != nil {
		return nil, err
	}
	res.Window = time.Since(t0).Seconds()
	res.Polls = p.polls.Load() - polls0
	if res.Go, err = readGoMemory(ctx, strings.TrimPrefix(url, "http://")); err != nil {
		return nil, err
	}
	if res.Polls > 0 {
		res.CPUPerPoll = ms(cpu1.self-cpu0.self) / float64(res.Polls)
	}
	stopPolling()
	p.wait(30 * time.Second)
	res.Errors = p.errors.Load()
	return res, nil
}
