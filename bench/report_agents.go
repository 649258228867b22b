package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// The report of the agent-facing sections: throughput, fleet, lost.

// Targets of the agent-facing sections (issue 3).
const (
	targetJobsPerSec = 1000.0
	targetFleetRSSMB = 150.0
)

var engineNames = map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}

func printThroughput(w io.Writer, rs []*throughputResult, cpus int, pgNote string) {
	r0 := rs[0]
	fmt.Fprintf(w, "\n(throughput) %d one-step jobs (%d runs × %d jobs, needs: []) drained by %d `lathe agent` processes; first trigger → last run finished\n",
		r0.Jobs, r0.Runs, r0.RunJobs, r0.Agents)
	cols := []int{-12, 14, 14, 12, 12, 16, 6}
	row(w, cols, "", "Lathe", "floor", "Lathe/floor", "by CPU/job", "target", "")
	for _, r := range rs {
		row(w, cols, engineNames[r.Engine], fmt.Sprintf("%.1f jobs/s", r.JobsPerSec), fmt.Sprintf("%.1f jobs/s", r.Floor.JobsPerSec),
			fmtRatio(r.JobsPerSec, r.Floor.JobsPerSec), fmtRatio(r.cpuPerJob()),
			"≥ 1000 jobs/s", verdictAtLeast(r.JobsPerSec, targetJobsPerSec))
	}
	fmt.Fprintf(w, "  floor: %d plain Go workers, %d jobs, each `git worktree add` of the commit from the worker's own bare mirror + /bin/sh -e -c '%s'\n",
		r0.Floor.Workers, r0.Floor.Jobs, tpStep)
	fmt.Fprintln(w, "  in its own process group, output to a per-job file, job environment, then the worktree removed — the agent's own work per job;")
	fmt.Fprintln(w, "  half just before Lathe's drain, half just after. by CPU/job = the floor's CPU per job ÷ Lathe's, each the whole machine's")
	fmt.Fprintln(w, "  busy CPU over its window (/proc/stat: every process, the kernel's threads too): the ratio the two rates would have")
	fmt.Fprintln(w, "  on a machine with nothing else running, since both are CPU-bound")
	if r0.Isolated != nil {
		fmt.Fprintln(w, "  isolated floor: the same workers with each step isolated as the agents isolate it, by hand: bwrap with the agents' sandbox's")
		fmt.Fprintln(w, "  namespaces and mounts, setpriv down to nobody when root (the worktree given to it first), the step's shell started by a shell")
	}
	if pgNote != "" {
		fmt.Fprintf(w, "  %s\n", pgNote)
	}
	for _, r := range rs {
		name := engineNames[r.Engine]
		c := r.CPU
		fmt.Fprintf(w, "\n  %s: %d jobs in %.1f s (floor %.1f s: %.1f jobs/s before, %.1f after); job claim → finish p50 %s, p99 %s; %d triggers took %s; warm-up %d jobs\n",
			name, r.Jobs, r.Seconds, r.Floor.Seconds, r.Floor.Before, r.Floor.After, fmtMS(r.JobTime.P50), fmtMS(r.JobTime.P99), r.Runs, fmtMS(r.TriggerMS), r.Warmup)
		fmt.Fprintf(w, "    jobs per agent: %s\n", perAgent(r.PerAgent))
		fmt.Fprintf(w, "    CPU per job: server %s + server's git %s + agents %s + agents' waited-for children (git, bwrap) %s = %s → at most %.0f jobs/s on %d CPUs\n",
			fmtMS(c.Server), fmtMS(c.ServerGit), fmtMS(c.Agents), fmtMS(c.Steps), fmtMS(c.total()), ceiling(c.total(), cpus), cpus)
		if c.Machine > 0 {
			fmt.Fprintf(w, "      the whole machine over the drain: %s per job → at most %.0f jobs/s; %s of it in no process above (processes no agent waits\n",
				fmtMS(c.Machine), ceiling(c.Machine, cpus), fmtMS(c.Machine-c.total()))
			fmt.Fprintln(w, "      for: the sandbox's init, step runner and step shells, reaped as its PID namespace ends; and the kernel's threads)")
		}
		ft := r.Floor.cpuPerJob()
		fmt.Fprintf(w, "    floor CPU per job: git and sh %s + workers %s = %s → at most %.0f jobs/s on %d CPUs",
			fmtMS(r.Floor.ChildrenMS), fmtMS(r.Floor.SelfMS), fmtMS(ft), ceiling(ft, cpus), cpus)
		if r.Floor.MachineMS > 0 {
			fmt.Fprintf(w, "; the whole machine: %s per job", fmtMS(r.Floor.MachineMS))
		}
		fmt.Fprintln(w)
		if f := r.Isolated; f != nil {
			fmt.Fprintf(w, "    isolated floor: %.1f jobs/s (%.1f before, %.1f after) → Lathe is %s of its rate",
				f.JobsPerSec, f.Before, f.After, fmtRatio(r.JobsPerSec, f.JobsPerSec))
			if f.MachineMS > 0 && c.Machine > 0 {
				fmt.Fprintf(w, "; the whole machine: %s per job → %s by CPU per job", fmtMS(f.MachineMS), fmtRatio(f.MachineMS, c.Machine))
			}
			fmt.Fprintln(w)
		}
		if f := r.ServerFloor; f != nil {
			fmt.Fprintf(w, "    server floor: %s CPU per job at %.1f jobs/s → Lathe's server %s is %s of it; target ≤ %s\n",
				fmtMS(f.ServerMS), f.JobsPerSec, fmtMS(c.Server), fmtRatio(c.Server, f.ServerMS), fmtMS(targetServerMSPerJob))
		}
		printProfile(w, r.Profile)
	}
	if rs[0].ServerFloor != nil {
		fmt.Fprintln(w, "  server floor: a plain net/http queue server on the same database engine and settings, as a child process: per job the")
		fmt.Fprintln(w, "  agent's token looked up, one claim and one finish (result + log) transaction, each fenced; enqueues of 100 jobs per transaction;")
		fmt.Fprintln(w, "  the floor's workers long-poll it and do the floor's job between claim and finish, so it sees jobs at Lathe's pace")
	}
}

// targetServerMSPerJob is issue 13's server CPU per one-step job.
const targetServerMSPerJob = 1.5

func (f tpFloor) cpuPerJob() float64 { return f.ChildrenMS + f.SelfMS }

// cpuPerJob is the floor's and Lathe's CPU per job: the whole machine's
// where both windows could read it, else the processes' own.
func (r *throughputResult) cpuPerJob() (floor, lathe float64) {
	if r.Floor.MachineMS > 0 && r.CPU.Machine > 0 {
		return r.Floor.MachineMS, r.CPU.Machine
	}
	return r.Floor.cpuPerJob(), r.CPU.total()
}

// ceiling is the jobs per second CPUs can do at cpuMS per job.
func ceiling(cpuMS float64, cpus int) float64 {
	if cpuMS <= 0 {
		return 0
	}
	return float64(cpus) * 1000 / cpuMS
}

func perAgent(m map[string]int) string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, m[n])
	}
	return strings.Join(parts, ", ") + spread(m)
}

// spread is how far the agents' shares stray from the mean: the issue's
// fairness bound is ±20%.
func spread(m map[string]int) string {
	if len(m) < 2 {
		return ""
	}
	total, lo, hi := 0, -1, 0
	for _, n := range m {
		total += n
		if lo < 0 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	mean := float64(total) / float64(len(m))
	if mean == 0 {
		return ""
	}
	worst := max(mean-float64(lo), float64(hi)-mean) / mean * 100
	verdict := "within ±20%"
	if worst > 20 {
		verdict = "OUTSIDE ±20%"
	}
	return fmt.Sprintf(" (mean %.1f, min %d −%.0f%%, max %d +%.0f%%: %s)", mean, lo,
		(mean-float64(lo))/mean*100, hi, (float64(hi)-mean)/mean*100, verdict)
}

func printProfile(w io.Writer, p *profileSummary) {
	if p == nil {
		return
	}
	if p.Note != "" && p.TotalMS == 0 {
		fmt.Fprintf(w, "    server profile: %s\n", p.Note)
		return
	}
	fmt.Fprintf(w, "    server CPU profile of the drain window: %s sampled (the benchmark's own polling left out)%s\n", fmtMS(p.TotalMS),
		map[bool]string{true: ", kept in " + p.File}[p.File != ""])
	list := func(label string, es []profileEntry, n int) {
		parts := make([]string, 0, n)
		for _, e := range es[:min(n, len(es))] {
			parts = append(parts, fmt.Sprintf("%s %.1f%%", e.Name, e.Pct))
		}
		fmt.Fprintf(w, "      %s: %s\n", label, strings.Join(parts, ", "))
	}
	list("by package (flat)", p.Packages, 8)
	list("top functions (flat)", p.Flat, 8)
	list("Lathe's functions (cumulative)", p.Lathe, 8)
}

func printFleet(w io.Writer, f *fleetResult) {
	fmt.Fprintf(w, "\n(fleet) `lathe server` (SQLite) with %d simulated agents long-polling (%d s polls, one connection each), sampled every %s for %.0f s\n",
		f.Agents, f.PollSec, fleetSample, f.Window)
	cols := []int{-40, 10, 10, 6}
	row(w, cols, "", "server", "target", "")
	row(w, cols, "VmRSS, largest in the window", fmt.Sprintf("%.1f MB", f.RSSMB), "≤ 150 MB", verdict(f.RSSMB, targetFleetRSSMB))
	row(w, cols, "VmRSS at the end of the window", fmt.Sprintf("%.1f MB", f.RSSEndMB), "", "")
	row(w, cols, "VmHWM (peak, registration included)", fmt.Sprintf("%.1f MB", f.HWMMB), "", "")
	row(w, cols, "VmRSS idle, before registration", fmt.Sprintf("%.1f MB", f.IdleRSSMB), "", "")
	row(w, cols, "VmRSS after registration, before polls", fmt.Sprintf("%.1f MB", f.RegisteredRSSMB), "", "")
	fmt.Fprintf(w, "  %.1f KB per polling agent; %d threads, %d open descriptors; %d registrations took %.1f s\n",
		f.PerAgentKB, f.Threads, f.FDs, f.Agents, f.RegisterSec)
	fmt.Fprintf(w, "  %d polls ended empty in the window; server CPU %s in it (%s per poll); %d failed, %d claimed a job\n",
		f.Polls, fmtMS(f.ServerCPU), fmtMS(f.CPUPerPoll), f.Errors, f.Claimed)
	if g := f.Go; g != nil {
		fmt.Fprintf(w, "  Go runtime at the window's end: %.0f goroutines, stacks %.0f MB, heap in use %.0f MB (%.0f MB from the OS)\n",
			g.Goroutines, g.StackMB, g.HeapMB, g.HeapSysMB)
	}
	printPollFloor(w, f.Floor, f.CPUPerPoll, f.RSSMB)
	fmt.Fprintf(w, "  %s\n", f.NoFile)
}

// printPollFloor sets the floor beside Lathe's CPU per idle poll and VmRSS.
func printPollFloor(w io.Writer, f *pollFloor, cpuPerPoll, rssMB float64) {
	if f == nil {
		return
	}
	fmt.Fprintf(w, "  floor: the same %d agents long-polling a plain net/http server (204 after the wait): %s CPU per poll (%d polls in %.0f s, %d failed), VmRSS %.0f MB; Lathe %s of it per poll, %s of its memory\n",
		f.Agents, fmtMS(f.CPUPerPoll), f.Polls, f.Window, f.Errors, f.RSSMB, fmtRatio(cpuPerPoll, f.CPUPerPoll), fmtRatio(rssMB, f.RSSMB))
	if g := f.Go; g != nil {
		fmt.Fprintf(w, "  the floor's Go runtime at the window's end: %.0f goroutines, stacks %.0f MB, heap in use %.0f MB (%.0f MB from the OS)\n",
			g.Goroutines, g.StackMB, g.HeapMB, g.HeapSysMB)
	}
}

func printLost(w io.Writer, l *lostResult) {
	bound := l.TTLMS + l.SweepMS
	fmt.Fprintf(w, "\n(lost) SIGKILL of a `lathe agent` mid-job, %d times: lease TTL %s, sweep every %s, heartbeat %s; times from the kill\n",
		l.Reps, fmtMS(l.TTLMS), fmtMS(l.SweepMS), fmtMS(l.HeartbeatMS))
	cols := []int{-44, 10, 10, 10, 10}
	row(w, cols, "", "p50", "max", "TTL", "TTL+sweep")
	row(w, cols, "attempt lost (and job queued again)", fmtMS(l.Lost.P50), fmtMS(l.Lost.Max), fmtMS(l.TTLMS), fmtMS(bound))
	row(w, cols, "attempt 2 claimed by the waiting agent", fmtMS(l.Claimed.P50), fmtMS(l.Claimed.Max), "", "")
	row(w, cols, "  of which lost → claimed", fmtMS(l.Handover.P50), fmtMS(l.Handover.Max), "", "")
	row(w, cols, "run finished (attempt 2 succeeded)", fmtMS(l.Done.P50), fmtMS(l.Done.Max), "", "")
	mark := "ok"
	if l.Within < l.Reps {
		mark = "MISS"
	}
	fmt.Fprintf(w, "  lost within TTL + sweep: %d of %d %s (expected range TTL − heartbeat … TTL + sweep = %s … %s)\n",
		l.Within, l.Reps, mark, fmtMS(l.TTLMS-l.HeartbeatMS), fmtMS(bound))
	fmt.Fprintf(w, "  every repetition (ms): lost %s; claimed %s\n", fmtList(l.LostAll), fmtList(l.ClaimedAll))
}

// verdictAtLeast says whether a value reaches its minimum.
func verdictAtLeast(v, limit float64) string {
	if v >= limit {
		return "ok"
	}
	return "MISS"
}
