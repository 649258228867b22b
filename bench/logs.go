package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// (c) Log throughput: one step printing logLines lines through Lathe, timed
// from the step's started_at to its finished_at, and to the moment the
// server holds every log byte, against the same command with its output
// redirected to a file.
//
// The server holds every byte when it accepts the attempt's finish: the agent
// sends the finish with the log's final size, and the server refuses it (and
// the agent resends the missing bytes) until it stores that many bytes. So the
// attempt's finished_at is when the whole log was durable — at most one
// report later than the last byte.

// logsResult is (c).
type logsResult struct {
	Lines int   `json:"lines"`
	Bytes int64 `json:"bytes"`
	Reps  int   `json:"repetitions"`
	// Medians over the repetitions.
	Step   float64 `json:"step_ms"`   // step started_at → finished_at
	Stored float64 `json:"stored_ms"` // step started_at → attempt finished_at (all bytes held)
	Direct float64 `json:"direct_ms"` // same command, > file
	// Every repetition.
	StepAll   []float64 `json:"step_all_ms"`
	StoredAll []float64 `json:"stored_all_ms"`
	DirectAll []float64 `json:"direct_all_ms"`
	// CPU is the median CPU this process (server, agents, and the
	// benchmark's client) used per job, beside the step's own process.
	CPU float64 `json:"lathe_process_cpu_ms"`
	// Verified is set when every stored log had all lines, in order.
	Verified bool   `json:"verified"`
	Check    string `json:"check"`
}

func benchLogs(ctx context.Context, b *bench, reps int) (*logsResult, error) {
	in, err := startLathe(ctx, filepath.Join(b.tmp, "logs"), "", embeddedAgents, b.log, b.project(), b.repo)
	if err != nil {
		return nil, err
	}
	defer b.stop(in)
	ws := filepath.Join(b.tmp, "logs-direct")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		return nil, err
	}
	env := jobEnv(ws, b.commit)
	res := &logsResult{Lines: logLines, Reps: reps, Verified: true}

	var step, stored, direct, cpu []time.Duration
	for i := range reps {
		c0 := cpuTime()
		_, j, a, err := in.runJob(ctx, logsPipeline)
		cpu = append(cpu, cpuTime()-c0)
		if err != nil {
			return nil, err
		}
		steps, err := stepTimes(a, 2)
		if err != nil {
			return nil, err
		}
		step = append(step, steps[1].FinishedAt.Sub(*steps[1].StartedAt))
		stored = append(stored, a.FinishedAt.Sub(*steps[1].StartedAt))

		log, err := in.log(ctx, j.ID)
		if err != nil {
			return nil, fmt.Errorf("read log: %w", err)
		}
		lines, check := verifyLog(log)
		if lines != logLines || int64(len(log)) != a.LogSize {
			res.Verified = false
		}
		res.Check = fmt.Sprintf("%s; log_size %d, GET …/log returned %d bytes", check, a.LogSize, len(log))
		if steps[1].LogEnd != nil {
			res.Bytes = *steps[1].LogEnd - steps[1].LogStart
		}

		d, err := directLog(ctx, ws, env)
		if err != nil {
			return nil, err
		}
		direct = append(direct, d)
		b.progress("(c) %d/%d repetitions", i+1, reps)
	}
	b.progressDone()
	res.Step, res.Stored, res.Direct, res.CPU = ms(median(step)), ms(median(stored)), ms(median(direct)), ms(median(cpu))
	for i := range step {
		res.StepAll = append(res.StepAll, ms(step[i]))
		res.StoredAll = append(res.StoredAll, ms(stored[i]))
		res.DirectAll = append(res.DirectAll, ms(direct[i]))
	}
	return res, nil
}

// verifyLog counts the benchmark's lines in a stored log, requiring them in
// order (line 0, line 1, …) with nothing missing in between.
func verifyLog(log []byte) (int, string) {
	next := 0
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if next < logLines && line == logLine(next) {
			next++
		}
	}
	return next, fmt.Sprintf("%d of %d lines present in order", next, logLines)
}

// directLog runs the log command with its output redirected to a file.
func directLog(ctx context.Context, dir string, env []string) (d time.Duration, err error) {
	err = asFloor(ctx, func(ctx context.Context) error {
		d, err = directLogOnce(ctx, dir, env)
		return err
	})
	return d, err
}

func directLogOnce(ctx context.Context, dir string, env []string) (time.Duration, error) {
	f, err := os.Create(filepath.Join(dir, "out.log"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-e", "-c", logCommand)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, f, f
	t0 := time.Now()
	err = cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("direct log command: %w", err)
	}
	return d, nil
}
