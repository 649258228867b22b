package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// summary describes a sample of durations.
type summary struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	Mean float64 `json:"mean_ms"`
	Min  float64 `json:"min_ms"`
	Max  float64 `json:"max_ms"`
}

// summarize computes the percentiles of a sample. Percentiles interpolate
// linearly between the two nearest ranks, so p99 of 200 values lies between
// the 198th and 199th smallest instead of being the single worst value.
func summarize(xs []time.Duration) summary {
	if len(xs) == 0 {
		return summary{}
	}
	ms := make([]float64, len(xs))
	sum := 0.0
	for i, d := range xs {
		ms[i] = float64(d) / float64(time.Millisecond)
		sum += ms[i]
	}
	slices.Sort(ms)
	return summary{
		N:    len(ms),
		P50:  percentile(ms, 50),
		P99:  percentile(ms, 99),
		Mean: sum / float64(len(ms)),
		Min:  ms[0],
		Max:  ms[len(ms)-1],
	}
}

// percentile returns the p-th percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(rank))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (rank-float64(lo))*(sorted[hi]-sorted[lo])
}

// median of durations.
func median(xs []time.Duration) time.Duration {
	s := summarize(xs)
	return time.Duration(s.P50 * float64(time.Millisecond))
}

// ms is a duration in milliseconds, for tables and JSON.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fmtMS prints milliseconds with a precision that suits their size.
func fmtMS(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.2f s", v/1000)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

// fmtRatio prints a/b as "1.23×".
func fmtRatio(a, b float64) string {
	if b <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// verdict says whether a value is within its limit.
func verdict(v, limit float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	if v <= limit {
		return "ok"
	}
	return "MISS"
}

// cpuTime is the CPU (user + system) this process has used so far: with the
// server and agents in this process, the CPU Lathe itself spends, apart from
// the steps' own processes. Unlike wall time it barely moves when other work
// loads the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU is the CPU the whole machine has been busy so far, from the
// first line of /proc/stat: user, nice, system, irq and softirq time of
// every CPU (idle and iowait left out, and steal: a hypervisor running
// another machine on the CPU is not this machine's work). Unlike cpuTime and
// readProcCPU it counts every process, including those no process of the
// benchmark waits for (a sandbox's processes, which die with its PID
// namespace and are reaped by no Lathe process), and the kernel's own
// threads. It is 0 where /proc/stat cannot be read.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system (idle iowait) irq softirq
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0
		}
		busy += n
	}
	return time.Duration(busy) * clockTick
}
