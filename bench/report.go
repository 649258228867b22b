package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Targets, printed beside the figures.
const (
	targetP50MS      = 10.0
	targetP99MS      = 50.0
	targetStepsRatio = 1.5
	targetLogsRatio  = 1.3
	targetIdleRSSMB  = 40.0
)

// printReport writes the results as one table per section.
func printReport(w io.Writer, r *results) {
	m := r.Meta
	fmt.Fprintf(w, "\nLathe benchmark — %s %s, %d CPUs, git %s, %s, took %.0f s%s\n", m.Go, m.Platform, m.CPUs, m.Git,
		m.Start.Format("2006-01-02 15:04:05"), m.Seconds, map[bool]string{true: " (-quick)"}[m.Quick])
	fmt.Fprintf(w, "load average before %s, after %s (other work on the machine skews absolute times; ratios pair each Lathe figure with a floor measured beside it)\n", m.LoadBefore, m.LoadAfter)
	fmt.Fprintln(w, "floor / direct = the same work done without Lathe, measured in this run")

	if r.LatencySQLite != nil || r.LatencyPostgres != nil || r.PostgresNote != "" {
		printLatency(w, r)
	}
	if r.Steps != nil {
		printSteps(w, r.Steps)
	}
	if r.Logs != nil {
		printLogs(w, r.Logs)
	}
	if r.Memory != nil {
		printMemory(w, r.Memory)
	}
	if len(r.Throughput) > 0 {
		printThroughput(w, r.Throughput, m.CPUs, r.ThroughputNote)
	}
	if r.Fleet != nil {
		printFleet(w, r.Fleet)
	}
	if r.Lost != nil {
		printLost(w, r.Lost)
	}
	if r.Hooks != nil {
		printHooks(w, r.Hooks)
	}
	if r.Scale != nil {
		printScale(w, r.Scale)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(w, "\nFAILED:")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	fmt.Fprintln(w)
}

// row prints cells padded to widths (negative: left-aligned).
func row(w io.Writer, widths []int, cells ...string) {
	var b strings.Builder
	for i, c := range cells {
		if i < len(widths) {
			fmt.Fprintf(&b, "%*s", widths[i], c)
		} else {
			b.WriteString(c)
		}
		b.WriteString("  ")
	}
	fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
}

func printLatency(w io.Writer, r *results) {
	n := 0
	for _, l := range []*latencyResult{r.LatencySQLite, r.LatencyPostgres} {
		if l != nil {
			n = l.Runs
		}
	}
	fmt.Fprintf(w, "\n(a) trigger → first step started (steps[1].started_at − just before POST …/runs), idle agents, %d runs one after another\n", n)
	cols := []int{-12, -4, 10, 10, 7, 12, 9, 6}
	row(w, cols, "", "", "Lathe", "floor", "ratio", "Lathe−floor", "target", "")
	for _, l := range []*latencyResult{r.LatencySQLite, r.LatencyPostgres} {
		if l == nil {
			continue
		}
		name := map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}[l.Engine]
		row(w, cols, name, "p50", fmtMS(l.Latency.P50), fmtMS(l.Floor.P50), fmtRatio(l.Latency.P50, l.Floor.P50),
			fmtMS(l.Overhead.P50), "≤ 10 ms", verdict(l.Latency.P50, targetP50MS))
		row(w, cols, "", "p99", fmtMS(l.Latency.P99), fmtMS(l.Floor.P99), fmtRatio(l.Latency.P99, l.Floor.P99),
			fmtMS(l.Overhead.P99), "≤ 50 ms", verdict(l.Latency.P99, targetP99MS))
	}
	if r.PostgresNote != "" {
		fmt.Fprintf(w, "  %s\n", r.PostgresNote)
	}
	fmt.Fprintln(w, "  floor: git worktree add of the commit from a bare mirror + /bin/sh -e -c 'echo started', job-sized environment")
	fmt.Fprintln(w, "  Lathe−floor: each run minus the floor measured right after it. Lathe stamps a step's started_at before it")
	fmt.Fprintln(w, "  spawns the process, so the ratio above favours Lathe; like for like (both ending when the step's process exits):")
	for _, l := range []*latencyResult{r.LatencySQLite, r.LatencyPostgres} {
		if l == nil {
			continue
		}
		fmt.Fprintf(w, "    %-10s trigger → first step finished  p50 %s (%s of floor)  p99 %s (%s of floor)\n", l.Engine,
			fmtMS(l.ToFinished.P50), fmtRatio(l.ToFinished.P50, l.Floor.P50), fmtMS(l.ToFinished.P99), fmtRatio(l.ToFinished.P99, l.Floor.P99))
	}
	for _, l := range []*latencyResult{r.LatencySQLite, r.LatencyPostgres} {
		if l == nil {
			continue
		}
		var agents []string
		for a, n := range l.PerAgent {
			agents = append(agents, fmt.Sprintf("%s %d", a, n))
		}
		sort.Strings(agents)
		fmt.Fprintf(w, "\n  where the time goes (%s; runs per agent: %s; after %d warm-up runs)\n", l.Engine, strings.Join(agents, ", "), l.Warmup)
		pc := []int{-58, 10, 10, 10, 10, 0}
		row(w, pc, "", "Lathe p50", "p99", "floor p50", "p99", "floor is")
		for _, p := range l.Phases {
			f50, f99 := "", ""
			if p.Floor != nil {
				f50, f99 = fmtMS(p.Floor.P50), fmtMS(p.Floor.P99)
			}
			row(w, pc, "  "+p.Name, fmtMS(p.Lathe.P50), fmtMS(p.Lathe.P99), f50, f99, p.FloorWhat)
		}
	}
}

func printSteps(w io.Writer, s *stepsResult) {
	fmt.Fprintf(w, "\n(b) per-step overhead: one job of %d `true` steps, median of %d\n", s.Steps, s.Reps)
	cols := []int{-34, 10, 10, 7, 8, 6}
	row(w, cols, "", "Lathe", "direct", "ratio", "target", "")
	row(w, cols, fmt.Sprintf("%d steps", s.Steps), fmtMS(s.Lathe), fmtMS(s.Direct), fmtRatio(s.Lathe, s.Direct), "≤ 1.5×",
		verdict(s.Lathe/s.Direct, targetStepsRatio))
	per := float64(s.Steps)
	row(w, cols, "per step", fmtMS(s.Lathe/per), fmtMS(s.Direct/per), "", "", "")
	row(w, cols, "vs the same in one bwrap by hand", fmtMS(s.Lathe), fmtMS(s.Bwrap), fmtRatio(s.Lathe, s.Bwrap), "≤ 1.5×",
		verdict(s.Lathe/s.Bwrap, targetStepsRatio))
	row(w, cols, "sandbox executor alone, no server", fmtMS(s.Executor), fmtMS(s.Bwrap), fmtRatio(s.Executor, s.Bwrap), "", "")
	fmt.Fprintf(w, "  overhead %s per step. Inside Lathe: a step's process runs p50 %s (p99 %s); from one step's finish to the next's start p50 %s (p99 %s)\n",
		fmtMS((s.Lathe-s.Direct)/per), fmtMS(s.StepRun.P50), fmtMS(s.StepRun.P99), fmtMS(s.Gap.P50), fmtMS(s.Gap.P99))
	fmt.Fprintf(w, "  CPU of the Lathe process (server + agents, in-process) per job: %s, %s per step, beside the steps' own processes\n",
		fmtMS(s.CPU), fmtMS(s.CPU/per))
	fmt.Fprintf(w, "  Lathe: steps[1].started_at → steps[%d].finished_at; direct: %d × exec /bin/sh -e -c true in turn, same %d-variable environment\n",
		s.Steps, s.Steps, s.EnvVars)
	fmt.Fprintf(w, "  every repetition (ms): Lathe %s; direct %s; executor alone %s; bwrap by hand %s (its start alone %s)\n",
		fmtList(s.LatheAll), fmtList(s.DirectAll), fmtList(s.ExecutorAll), fmtList(s.BwrapAll), fmtMS(s.BwrapStart))
}

func printLogs(w io.Writer, l *logsResult) {
	fmt.Fprintf(w, "\n(c) log throughput: one step printing %d lines (%.1f MB, a shell loop, one write per line), median of %d\n",
		l.Lines, float64(l.Bytes)/1e6, l.Reps)
	cols := []int{-42, 10, 10, 7, 8, 6}
	row(w, cols, "", "Lathe", "direct", "ratio", "target", "")
	row(w, cols, "step started → step finished", fmtMS(l.Step), fmtMS(l.Direct), fmtRatio(l.Step, l.Direct), "≤ 1.3×",
		verdict(l.Step/l.Direct, targetLogsRatio))
	row(w, cols, "step started → server holds every byte", fmtMS(l.Stored), fmtMS(l.Direct), fmtRatio(l.Stored, l.Direct), "≤ 1.3×",
		verdict(l.Stored/l.Direct, targetLogsRatio))
	fmt.Fprintln(w, "  direct: the same command with its output redirected to a file; every byte held = the attempt's finished_at")
	fmt.Fprintln(w, "  (the server accepts the finish only once it stores the whole log)")
	fmt.Fprintf(w, "  CPU of the Lathe process (server + agents, in-process) per job: %s (%.0f ns per log byte), beside the step's own process\n",
		fmtMS(l.CPU), l.CPU*1e6/float64(max(l.Bytes, 1)))
	mark := "ok"
	if !l.Verified {
		mark = "FAILED"
	}
	fmt.Fprintf(w, "  stored log check %s: %s\n", mark, l.Check)
	fmt.Fprintf(w, "  every repetition (ms): step %s; held %s; direct %s\n", fmtList(l.StepAll), fmtList(l.StoredAll), fmtList(l.DirectAll))
}

func printMemory(w io.Writer, m *memoryResult) {
	fmt.Fprintf(w, "\n(d) idle server resident memory: `%s`, idle %.0f s after /readyz\n", m.Command, m.Idle)
	cols := []int{-14, 10, 9, 6}
	row(w, cols, "", "lathe", "target", "")
	row(w, cols, "VmRSS", fmt.Sprintf("%.1f MB", m.RSSMB), "≤ 40 MB", verdict(m.RSSMB, targetIdleRSSMB))
	row(w, cols, "VmHWM (peak)", fmt.Sprintf("%.1f MB", m.HWMMB), "", "")
}

func fmtList(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(s, " ")
}
