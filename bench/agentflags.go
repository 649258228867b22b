package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The flags of the agent-facing sections (throughput, fleet, lost): their
// -quick sizes and their bounds.

// quickDefaults shrinks the agent-facing sections for -quick, leaving any
// flag given explicitly (set) alone: the smoke test exercises every path in
// seconds.
func quickDefaults(cfg *config, set map[string]bool) {
	quick := map[string]func(){
		"tp-jobs":      func() { cfg.tpJobs = 32 },
		"tp-run-jobs":  func() { cfg.tpRunJobs = 16 },
		"fleet-agents": func() { cfg.fleetAgents = 50 },
		"fleet-poll":   func() { cfg.fleetPoll = 2 },
		"lost-reps":    func() { cfg.lostReps = 1 },
		"lost-ttl":     func() { cfg.lostTTL = time.Second },
		"lost-sweep":   func() { cfg.lostSweep = 200 * time.Millisecond },
		"scale-jobs":   func() { cfg.scaleJobs = 32 },
		"scale-agents": func() { cfg.scaleAgents = 4 },
		"scale-fleet":  func() { cfg.scaleFleet = 30 },
	}
	for name, apply := range quick {
		if !set[name] {
			apply()
		}
	}
}

// checkAgentFlags bounds the agent-facing sections, so every loop and wait
// they run is bounded too.
func checkAgentFlags(cfg config) error {
	switch {
	case cfg.tpRunJobs < 1 || cfg.tpRunJobs > 5000:
		return errors.New("-tp-run-jobs must be 1–5000")
	case cfg.tpJobs < cfg.tpRunJobs || cfg.tpJobs > 100_000 || cfg.tpJobs%cfg.tpRunJobs != 0:
		return errors.New("-tp-jobs must be a multiple of -tp-run-jobs, at most 100000")
	case cfg.tpAgents < 1 || cfg.tpAgents > 64:
		return errors.New("-tp-agents must be 1–64")
	case cfg.fleetAgents < 1 || cfg.fleetAgents > 20_000:
		return errors.New("-fleet-agents must be 1–20000")
	case cfg.fleetPoll < 1 || cfg.fleetPoll > 60:
		return errors.New("-fleet-poll must be 1–60 (seconds, as the agent's --poll-wait)")
	case cfg.lostReps < 1 || cfg.lostReps > 100:
		return errors.New("-lost-reps must be 1–100")
	case cfg.lostTTL < 300*time.Millisecond || cfg.lostTTL > 5*time.Minute:
		return errors.New("-lost-ttl must be 300ms–5m")
	case cfg.lostSweep < 10*time.Millisecond || cfg.lostSweep > cfg.lostTTL:
		return errors.New("-lost-sweep must be at least 10ms and at most -lost-ttl")
	case cfg.scaleJobs < cfg.tpRunJobs || cfg.scaleJobs > 100_000 || cfg.scaleJobs%cfg.tpRunJobs != 0:
		return errors.New("-scale-jobs must be a multiple of -tp-run-jobs, at most 100000")
	case cfg.scaleAgents < 1 || cfg.scaleAgents > 64:
		return errors.New("-scale-agents must be 1–64")
	case cfg.scaleFleet < 0 || cfg.scaleFleet > 20_000:
		return errors.New("-scale-fleet must be 0–20000")
	}
	return nil
}

// parseReplicas reads -scale-replicas: replica counts from 1 to 8.
func parseReplicas(v string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 8 {
			return nil, fmt.Errorf("-scale-replicas: %q is not a replica count from 1 to 8", f)
		}
		out = append(out, n)
	}
	return out, nil
}
