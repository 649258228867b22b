package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
)

// (b) Per-step overhead: one job of 50 `true` steps through Lathe, from the
// first step's started_at to the last one's finished_at, against the same 50
// commands each run by its own /bin/sh spawned from this process, one after
// another, with an environment of the same size as a job's.

// stepsResult is (b).
type stepsResult struct {
	Steps int `json:"steps"`
	Reps  int `json:"repetitions"`
	// Lathe and Direct are the medians over the repetitions.
	Lathe  float64 `json:"lathe_ms"`
	Direct float64 `json:"direct_ms"`
	// LatheAll and DirectAll are every repetition's total.
	LatheAll  []float64 `json:"lathe_all_ms"`
	DirectAll []float64 `json:"direct_all_ms"`
	// StepRun is how long each step's process ran inside Lathe (started_at →
	// finished_at), and Gap the time between a step's finish and the next
	// step's start, over every step of every repetition.
	StepRun summary `json:"step_run"`
	Gap     summary `json:"gap_between_steps"`
	EnvVars int     `json:"env_vars"`
	// Executor is the median time of the 50 steps through Lathe's
	// executor.Shell alone (no server, no agent, output to memory): the
	// share of the overhead that is the step runner rather than reporting.
	Executor    float64   `json:"executor_ms"`
	ExecutorAll []float64 `json:"executor_all_ms"`
	// CPU is the median CPU this process (server, agents, and the
	// benchmark's client) used per job, beside the steps' own processes.
	CPU float64 `json:"lathe_process_cpu_ms"`
}

func benchSteps(ctx context.Context, b *bench, reps int) (*stepsResult, error) {
	in, err := startLathe(ctx, filepath.Join(b.tmp, "steps"), "", embeddedAgents, b.log, b.project(), b.repo)
	if err != nil {
		return nil, err
	}
	defer b.stop(in)
	ws := filepath.Join(b.tmp, "steps-direct")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		return nil, err
	}
	env := jobEnv(ws, b.commit)
	res := &stepsResult{Steps: stepCount, Reps: reps, EnvVars: len(env)}

	// Warm up both sides once.
	if _, _, _, err := in.runJob(ctx, stepsPipeline); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	if _, err := directSteps(ctx, ws, env); err != nil {
		return nil, err
	}
	var latheAll, directAll, execAll, cpu, runs, gaps []time.Duration
	for i := range reps {
		c0 := cpuTime()
		_, _, a, err := in.runJob(ctx, stepsPipeline)
		cpu = append(cpu, cpuTime()-c0)
		if err != nil {
			return nil, err
		}
		steps, err := stepTimes(a, stepCount+1)
		if err != nil {
			return nil, err
		}
		latheAll = append(latheAll, steps[stepCount].FinishedAt.Sub(*steps[1].StartedAt))
		for j := 1; j <= stepCount; j++ {
			runs = append(runs, steps[j].FinishedAt.Sub(*steps[j].StartedAt))
			if j < stepCount {
				gaps = append(gaps, steps[j+1].StartedAt.Sub(*steps[j].FinishedAt))
			}
		}
		d, err := directSteps(ctx, ws, env)
		if err != nil {
			return nil, err
		}
		directAll = append(directAll, d)
		e, err := executorSteps(ctx, ws, env)
		if err != nil {
			return nil, err
		}
		execAll = append(execAll, e)
		b.progress("(b) %d/%d repetitions", i+1, reps)
	}
	b.progressDone()
	res.Lathe, res.Direct, res.Executor, res.CPU = ms(median(latheAll)), ms(median(directAll)), ms(median(execAll)), ms(median(cpu))
	for i := range latheAll {
		res.LatheAll = append(res.LatheAll, ms(latheAll[i]))
		res.DirectAll = append(res.DirectAll, ms(directAll[i]))
		res.ExecutorAll = append(res.ExecutorAll, ms(execAll[i]))
	}
	res.StepRun, res.Gap = summarize(runs), summarize(gaps)
	return res, nil
}

// directSteps runs the 50 steps' command directly, one process after another.
func directSteps(ctx context.Context, dir string, env []string) (d time.Duration, err error) {
	err = asFloor(ctx, func(ctx context.Context) error {
		d, err = directStepsOnce(ctx, dir, env)
		return err
	})
	return d, err
}

func directStepsOnce(ctx context.Context, dir string, env []string) (time.Duration, error) {
	t0 := time.Now()
	for range stepCount {
		cmd := exec.CommandContext(ctx, "/bin/sh", "-e", "-c", "true")
		cmd.Dir, cmd.Env = dir, env
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("sh -e -c true: %w", err)
		}
	}
	return time.Since(t0), nil
}

// executorSteps runs the 50 steps through executor.Shell, as the agent
// does, but with no server: output goes to a spool file as in the agent,
// and nothing is reported.
func executorSteps(ctx context.Context, dir string, env []string) (d time.Duration, err error) {
	out, err := os.CreateTemp("", "lathe-bench-spool-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	pprof.Do(ctx, pprof.Labels("part", "executor"), func(ctx context.Context) {
		sh := &executor.Shell{}
		defer sh.Cleanup()
		t0 := time.Now()
		for range stepCount {
			code, runErr := sh.Run(ctx, executor.Step{Script: "true", Dir: dir, Env: env, Output: out})
			if runErr != nil || code != 0 {
				err = fmt.Errorf("executor: exit %d: %v", code, runErr)
				return
			}
		}
		d = time.Since(t0)
	})
	return d, err
}

// jobEnv is the environment a Lathe job in workspace gets, built by the
// same function the agent uses, so direct baselines pay for the same size.
func jobEnv(workspace, commit string) []string {
	return executor.JobEnv(&lathe.Assignment{
		AttemptID: 1, Attempt: 1, JobID: 1, RunID: 1, Project: "bench", Pipeline: "bench", RunNumber: 1,
		Stage: "default", Job: "bench", Commit: commit, Ref: "refs/heads/main", Branch: "main", Event: "manual",
	}, workspace)
}
