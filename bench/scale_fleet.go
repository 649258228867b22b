package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// (scale fleet) -scale-fleet simulated agents — each registered with a
// registration token and holding its own credential, doing the real claim
// long-poll as `lathe agent` does (see pollers) — spread round-robin over
// n replicas on one PostgreSQL database. No job is queued, so every poll
// waits out its -fleet-poll seconds; the notifier's fallback runs every
// 5 s meanwhile on every replica. Measured per replica over a window of
// more than one poll: the largest VmRSS, and CPU per poll that ended
// empty; and PostgreSQL's CPU over the same window.

// scaleFleet is (scale fleet).
type scaleFleet struct {
	Agents   int     `json:"agents"`
	Replicas int     `json:"replicas"`
	PollSec  int     `json:"poll_seconds"`
	Window   float64 `json:"window_seconds"`
	// RSSMB is each replica's largest VmRSS in the window; IdleRSSMB each
	// one's before any agent registered.
	RSSMB     []float64 `json:"rss_mb"`
	IdleRSSMB []float64 `json:"idle_rss_mb"`
	// Polls is the long-polls that ended empty in the window.
	Polls int64 `json:"polls_in_window"`
	// CPUPerPoll is every replica's CPU in the window over Polls;
	// PostgresPerPoll is PostgreSQL's.
	CPUPerPoll      float64 `json:"server_cpu_per_poll_ms"`
	PostgresPerPoll float64 `json:"postgres_cpu_per_poll_ms"`
	// FloorPerPoll is what the simulated agents (this process) spent per poll.
	FloorPerPoll float64 `json:"client_cpu_per_poll_ms"`
	RegisterSec  float64 `json:"register_seconds"`
	Claimed      int64   `json:"claimed"`
	Errors       int64   `json:"errors"`
	FirstError   string  `json:"first_error,omitempty"`
	// Floor is the same agents long-polling one plain net/http server.
	Floor *pollFloor `json:"floor,omitempty"`
}

func scaleFleetRun(ctx context.Context, b *bench, bin, dir, dbURL string, n int) (*scaleFleet, error) {
	cfg := b.cfg
	res := &scaleFleet{Agents: cfg.scaleFleet, Replicas: n, PollSec: cfg.fleetPoll}
	profile := ""
	if cfg.profileDir != "" {
		profile = filepath.Join(cfg.profileDir, fmt.Sprintf("scale-fleet-%dr", n))
	}
	rs, err := startReplicas(ctx, bin, dir, dbURL, n, profile)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := rs.stop(); err != nil {
			b.stopErrs = append(b.stopErrs, err.Error())
		}
	}()
	for _, s := range rs.servers {
		rss, err := rssMB(s)
		if err != nil {
			return nil, err
		}
		res.IdleRSSMB = append(res.IdleRSSMB, rss)
	}
	t0 := time.Now()
	creds, err := registerFleet(ctx, rs.servers[0], cfg.scaleFleet)
	if err != nil {
		return nil, err
	}
	res.RegisterSec = time.Since(t0).Seconds()
	fmt.Fprintf(b.out, "  (scale) %d agents registered in %.1f s; polling %d replicas …\n", len(creds), res.RegisterSec, n)

	pollCtx, stopPolling := context.WithCancel(ctx)
	p := &pollers{}
	for i, s := range rs.servers {
		var mine []string
		for j := i; j < len(creds); j += n {
			mine = append(mine, creds[j])
		}
		p.start(pollCtx, s.url, mine, cfg.fleetPoll)
	}
	err = sampleScaleFleet(ctx, b, rs, p, res)
	stopPolling()
	if !p.wait(60 * time.Second) {
		err = errors.Join(err, errors.New("simulated agents did not stop within 60s"))
	}
	res.Claimed, res.Errors = p.claimed.Load(), p.errors.Load()
	if e, _ := p.firstErr.Load().(string); e != "" {
		res.FirstError = e
	}
	if err != nil {
		return nil, err
	}
	if res.Errors > 0 || res.Claimed > 0 {
		var logged strings.Builder
		for i, s := range rs.servers {
			if l := errorLines(s.out.String(), 5); l != "" {
				fmt.Fprintf(&logged, "\nreplica %d logged:\n%s", i+1, l)
			}
		}
		return res, fmt.Errorf("%d polls failed, %d claimed a job (first error: %s)%s", res.Errors, res.Claimed, res.FirstError, logged.String())
	}
	fmt.Fprintf(b.out, "  (scale) the floor: %d agents long-polling a plain net/http server …\n", res.Agents)
	if res.Floor, err = measurePollFloor(ctx, res.Agents, res.PollSec); err != nil {
		return res, fmt.Errorf("floor: %w", err)
	}
	return res, nil
}

// sampleScaleFleet waits until every agent has a poll in flight, then
// samples the replicas over a window of a poll and a fifth, and a second.
func sampleScaleFleet(ctx context.Context, b *bench, rs *replicaSet, p *pollers, res *scaleFleet) error {
	n := int64(res.Agents)
	deadline := time.Now().Add(3 * time.Minute)
	for p.inFlight.Load() < n {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%d of %d agents polling after 3 minutes (errors %d: %v)", p.inFlight.Load(), n, p.errors.Load(), p.firstErr.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.firstRoundDone(ctx, n, func() bool { return true }); err != nil {
		return err
	}
	window := time.Duration(res.PollSec)*1200*time.Millisecond + time.Second
	// Under -profile-dir each replica's profile of the window alone is
	// scale-fleet-Nr-I.pprof.1 (see `lathe server --cpu-profile`).
	if b.cfg.profileDir != "" {
		for _, s := range rs.servers {
			s.cmd.Process.Signal(syscall.SIGUSR1)
			defer s.cmd.Process.Signal(syscall.SIGUSR1)
		}
	}
	srv0, err := rs.cpu()
	if err != nil {
		return err
	}
	pg0, self0, polls0 := b.pg.cpu(), cpuTime(), p.polls.Load()
	res.RSSMB = make([]float64, len(rs.servers))
	t0 := time.Now()
	for time.Since(t0) < window {
		for i, s := range rs.servers {
			rss, err := rssMB(s)
			if err != nil {
				return fmt.Errorf("replica %d gone: %w", i+1, err)
			}
			res.RSSMB[i] = max(res.RSSMB[i], rss)
		}
		select {
		case <-time.After(fleetSample):
		case <-ctx.Done():
			return ctx.Err()
		}
		b.progress("(scale) fleet: %d polls ended in %.0f of %.0f s", p.polls.Load()-polls0, time.Since(t0).Seconds(), window.Seconds())
	}
	b.progressDone()
	res.Window = time.Since(t0).Seconds()
	srv1, err := rs.cpu()
	if err != nil {
		return err
	}
	pg1, self1 := b.pg.cpu(), cpuTime()
	res.Polls = p.polls.Load() - polls0
	if res.Polls > 0 {
		var srv time.Duration
		for i := range srv1 {
			srv += srv1[i] - srv0[i]
		}
		per := func(d time.Duration) float64 { return ms(d) / float64(res.Polls) }
		res.CPUPerPoll, res.PostgresPerPoll, res.FloorPerPoll = per(srv), per(pg1-pg0), per(self1-self0)
	}
	return nil
}

func printScaleFleet(w io.Writer, f *scaleFleet) {
	fmt.Fprintf(w, "\n(scale fleet) %d simulated agents long-polling %d replicas on one PostgreSQL (%d s polls, spread round-robin), %.0f s window\n",
		f.Agents, f.Replicas, f.PollSec, f.Window)
	mb := func(xs []float64) string {
		s := make([]string, len(xs))
		for i, x := range xs {
			s[i] = fmt.Sprintf("%.0f MB", x)
		}
		return strings.Join(s, ", ")
	}
	var most float64
	for _, x := range f.RSSMB {
		most = max(most, x)
	}
	cols := []int{-44, 24, 12, 6}
	row(w, cols, "", "measured", "target", "")
	row(w, cols, "VmRSS per replica, largest in the window", mb(f.RSSMB), "≤ 300 MB", verdict(most, 300))
	row(w, cols, "server CPU per idle poll (all replicas)", fmtMS(f.CPUPerPoll), "≤ 0.1 ms", verdict(f.CPUPerPoll, 0.1))
	fmt.Fprintf(w, "  idle VmRSS before registration: %s; %d registrations took %.1f s; %d polls ended empty in the window\n",
		mb(f.IdleRSSMB), f.Agents, f.RegisterSec, f.Polls)
	fmt.Fprintf(w, "  PostgreSQL CPU per poll %s; floor: the simulated agents' own CPU per poll (client side, HTTP only) %s, server %s of it\n",
		fmtMS(f.PostgresPerPoll), fmtMS(f.FloorPerPoll), fmtRatio(f.CPUPerPoll, f.FloorPerPoll))
	fmt.Fprintf(w, "  %d failed, %d claimed a job\n", f.Errors, f.Claimed)
	printPollFloor(w, f.Floor, f.CPUPerPoll, most)
}
