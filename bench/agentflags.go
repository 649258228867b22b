package main

import (
	"errors"
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
	}
	return nil
}
