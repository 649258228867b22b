package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/agent"
	"github.com/lathe-ci/lathe/client"
)

// (fleet) The memory a server needs for a large, idle fleet: -fleet-agents
// simulated agents, each registered with a registration token and holding
// its own credential, long-poll one `lathe server` (a child process, SQLite,
// so /proc shows the server's memory alone) exactly as `lathe agent` does —
// client.ClaimNew with the host-info header and a fresh claim ID per request,
// -fleet-poll seconds per poll, again at once after each empty answer. No
// job is queued, so every poll waits out its time.
//
// The simulated agents are goroutines in this process, one HTTP connection
// each, on 127.0.0.1. The window in which memory and CPU are sampled starts
// once every agent has a poll in flight and the first round of polls has
// ended, and lasts a poll and then some, so every connection has turned
// over at least once.

// fleetResult is (fleet).
type fleetResult struct {
	Agents  int     `json:"agents"`
	PollSec int     `json:"poll_seconds"`
	Window  float64 `json:"window_seconds"`
	// IdleRSSMB is before any agent registered; RegisteredRSSMB after all
	// registered, before any polled.
	IdleRSSMB       float64 `json:"idle_rss_mb"`
	RegisteredRSSMB float64 `json:"registered_rss_mb"`
	// RSSMB is the largest VmRSS sampled in the window, RSSEndMB the last.
	RSSMB    float64 `json:"rss_mb"`
	RSSEndMB float64 `json:"rss_end_mb"`
	// HWMMB is VmHWM at the end: the peak of the server's whole life,
	// registration included.
	HWMMB      float64 `json:"hwm_mb"`
	PerAgentKB float64 `json:"rss_per_agent_kb"`
	Threads    int     `json:"threads"`
	FDs        int     `json:"open_fds"`
	// Polls is the long-polls that ended empty in the window.
	Polls      int64   `json:"polls_in_window"`
	CPUPerPoll float64 `json:"server_cpu_per_poll_ms"`
	ServerCPU  float64 `json:"server_cpu_ms"`
	// Claimed counts assignments (none are expected) and Errors failed polls.
	Claimed     int64   `json:"claimed"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	RegisterSec float64 `json:"register_seconds"`
	NoFile      string  `json:"rlimit_nofile"`
	// Floor is the same agents long-polling a plain net/http server.
	Floor *pollFloor `json:"floor,omitempty"`
	// Go is the server's Go runtime at the end of the window.
	Go *goMemory `json:"go_memory,omitempty"`
}

// registerWorkers is how many registrations run at once.
const registerWorkers = 8

func benchFleet(ctx context.Context, b *bench) (*fleetResult, error) {
	cfg := b.cfg
	res := &fleetResult{Agents: cfg.fleetAgents, PollSec: cfg.fleetPoll}
	var err error
	if res.NoFile, err = ensureNoFile(uint64(cfg.fleetAgents) + 512); err != nil {
		return nil, err
	}
	bin, err := b.latheBinary(ctx)
	if err != nil {
		return nil, err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	extra := []string{"--metrics-addr", metricsAddr}
	if cfg.profileDir != "" {
		extra = append(extra, "--cpu-profile", filepath.Join(cfg.profileDir, "fleet-server.pprof"))
	}
	srv, err := startServerChild(ctx, bin, filepath.Join(b.tmp, "fleet"), extra...)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := srv.stop(stopTimeout); err != nil {
			b.stopErrs = append(b.stopErrs, err.Error())
		}
	}()
	if res.IdleRSSMB, err = rssMB(srv); err != nil {
		return nil, err
	}

	t0 := time.Now()
	creds, err := registerFleet(ctx, srv, cfg.fleetAgents)
	if err != nil {
		return nil, err
	}
	res.RegisterSec = time.Since(t0).Seconds()
	if res.RegisteredRSSMB, err = rssMB(srv); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.out, "  (fleet) %d agents registered in %.1f s; polling …\n", len(creds), res.RegisterSec)

	pollCtx, stopPolling := context.WithCancel(ctx)
	p := &pollers{}
	p.start(pollCtx, srv.url, creds, cfg.fleetPoll)
	err = sampleFleet(ctx, srv, p, res, cfg.profileDir != "")
	if err == nil {
		res.Go, err = readGoMemory(ctx, metricsAddr)
	}
	stopPolling()
	if !p.wait(30 * time.Second) {
		err = errors.Join(err, errors.New("simulated agents did not stop within 30s"))
	}
	res.Claimed, res.Errors = p.claimed.Load(), p.errors.Load()
	if e, _ := p.firstErr.Load().(string); e != "" {
		res.FirstError = e
	}
	if err != nil {
		return nil, err
	}
	if res.Errors > 0 || res.Claimed > 0 {
		return res, fmt.Errorf("%d polls failed, %d claimed a job (first error: %s)\nthe server logged:\n%s", res.Errors, res.Claimed, res.FirstError, errorLines(srv.out.String(), 5))
	}
	fmt.Fprintf(b.out, "  (fleet) the floor: %d agents long-polling a plain net/http server …\n", res.Agents)
	if res.Floor, err = measurePollFloor(ctx, res.Agents, res.PollSec); err != nil {
		return res, fmt.Errorf("floor: %w", err)
	}
	return res, nil
}

// registerFleet registers n agents with one registration token, as
// `lathe agent --token` does, and returns their credentials.
func registerFleet(ctx context.Context, srv *serverChild, n int) ([]string, error) {
	var rt lathe.RegistrationToken
	if err := srv.admin.Do(ctx, http.MethodPost, "/api/v1/registration-tokens", map[string]string{"name": "bench-fleet"}, &rt); err != nil {
		return nil, fmt.Errorf("create registration token: %w", err)
	}
	host := agent.Host()
	creds := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, registerWorkers)
	for range registerWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client.New(srv.url, rt.Token)
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				in := map[string]any{"name": fmt.Sprintf("sim-%05d", i), "labels": []string{"bench-fleet"}, "host": host}
				var out struct {
					Token string `json:"token"`
				}
				if err := c.Do(ctx, http.MethodPost, "/api/v1/agent/register", in, &out); err != nil {
					errs <- fmt.Errorf("register agent %d: %w", i, err)
					return
				}
				creds[i] = out.Token
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return creds, ctx.Err()
}

// pollers are the simulated agents.
type pollers struct {
	wg       sync.WaitGroup
	inFlight atomic.Int64
	polls    atomic.Int64 // ended empty (204)
	// answered counts the agents whose first poll has been answered.
	answered atomic.Int64
	claimed  atomic.Int64
	errors   atomic.Int64
	firstErr atomic.Value
}

// start runs one goroutine per credential, each claiming in a loop like
// agent.Agent.Run does, until ctx ends.
func (p *pollers) start(ctx context.Context, url string, creds []string, pollSec int) {
	host := agent.Host()
	for _, cred := range creds {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			c := client.New(url, cred)
			agent.SendHostInfo(c, host)
			for first := true; ctx.Err() == nil; first = false {
				p.inFlight.Add(1)
				as, err := c.ClaimNew(ctx, pollSec, claimID())
				p.inFlight.Add(-1)
				if first {
					p.answered.Add(1)
				}
				switch {
				case ctx.Err() != nil:
				case err != nil:
					p.errors.Add(1)
					p.firstErr.CompareAndSwap(nil, err.Error())
					select { // back off as the agent does, bounded by ctx
					case <-time.After(time.Second):
					case <-ctx.Done():
					}
				case as != nil:
					p.claimed.Add(1)
				default:
					p.polls.Add(1)
				}
			}
			c.HTTP.CloseIdleConnections()
		}()
	}
}

// firstRoundDone waits until every one of n agents' first poll has been
// answered, and a second more. The first polls start at once and cost the
// server most (a credential read, a claim of the queue, last_seen
// written); a window that starts after the last of them ended holds as
// many polls beginning (the third round) as ending (the second), so CPU
// over polls ended is the CPU of an idle poll.
func (p *pollers) firstRoundDone(ctx context.Context, n int64, alive func() bool) error {
	deadline := time.Now().Add(5 * time.Minute)
	for p.answered.Load() < n {
		if time.Now().After(deadline) || ctx.Err() != nil || !alive() {
			return fmt.Errorf("%d of %d agents' first polls answered after 5 minutes (errors %d: %v)", p.answered.Load(), n, p.errors.Load(), p.firstErr.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	return nil
}

// wait waits at most timeout for every simulated agent to stop.
func (p *pollers) wait(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// claimID is a fresh random claim ID, as the agent makes one per claim.
func claimID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// fleetSample is how often the window samples the server.
const fleetSample = 250 * time.Millisecond

// sampleFleet waits until every agent has a poll in flight, then samples
// the server's memory, threads and descriptors over the window.
func sampleFleet(ctx context.Context, srv *serverChild, p *pollers, res *fleetResult, profiling bool) error {
	n := int64(res.Agents)
	deadline := time.Now().Add(time.Minute)
	for p.inFlight.Load() < n {
		if time.Now().After(deadline) || ctx.Err() != nil || !srv.running() {
			return fmt.Errorf("%d of %d agents polling after a minute (errors %d: %v)", p.inFlight.Load(), n, p.errors.Load(), p.firstErr.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.firstRoundDone(ctx, n, srv.running); err != nil {
		return err
	}
	// A poll and a fifth, and a second: every connection turns over once.
	window := time.Duration(res.PollSec)*1200*time.Millisecond + time.Second
	// Under -profile-dir the server's profile of the window alone is
	// fleet-server.pprof.1 (see `lathe server --cpu-profile`).
	if profiling {
		srv.cmd.Process.Signal(syscall.SIGUSR1)
		defer srv.cmd.Process.Signal(syscall.SIGUSR1)
	}
	cpu0, err := readProcCPU(srv.pid())
	if err != nil {
		return err
	}
	polls0 := p.polls.Load()
	t0 := time.Now()
	for time.Since(t0) < window {
		st, err := srv.status()
		if err != nil {
			return fmt.Errorf("lathe server gone: %w", err)
		}
		rss := procKB(st, "VmRSS") / 1024
		res.RSSMB, res.RSSEndMB = max(res.RSSMB, rss), rss
		res.Threads = max(res.Threads, int(procKB(st, "Threads")))
		res.FDs = max(res.FDs, srv.openFDs())
		select {
		case <-time.After(fleetSample):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	res.Window = time.Since(t0).Seconds()
	cpu1, err := readProcCPU(srv.pid())
	if err != nil {
		return err
	}
	st, err := srv.status()
	if err != nil {
		return err
	}
	res.HWMMB = procKB(st, "VmHWM") / 1024
	res.Polls = p.polls.Load() - polls0
	res.ServerCPU = ms(cpu1.self - cpu0.self)
	if res.Polls > 0 {
		res.CPUPerPoll = res.ServerCPU / float64(res.Polls)
	}
	res.PerAgentKB = (res.RSSMB - res.RegisteredRSSMB) * 1024 / float64(res.Agents)
	return nil
}

// rssMB is the server's VmRSS now.
func rssMB(srv *serverChild) (float64, error) {
	st, err := srv.status()
	if err != nil {
		return 0, err
	}
	return procKB(st, "VmRSS") / 1024, nil
}
