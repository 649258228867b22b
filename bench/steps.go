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
	// Executor is the median time of the 50 steps through the agents'
	// executor (the sandbox) alone, no server, no agent, output to a
	// spool file: the share of the overhead that is the step runner
	// rather than reporting.
	Executor    float64   `json:"executor_ms"`
	ExecutorAll []float64 `json:"executor_all_ms"`
	// Bwrap is the median time of the same 50 commands run by one /bin/sh
	// inside one bubblewrap sandbox started by hand (bwrap's own start
	// taken out: BwrapStart is that alone).
	Bwrap      float64   `json:"bwrap_by_hand_ms"`
	BwrapAll   []float64 `json:"bwrap_by_hand_all_ms"`
	BwrapStart float64   `json:"bwrap_start_ms"`
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
	var latheAll, directAll, execAll, bwrapAll, bwrapStarts, cpu, runs, gaps []time.Duration
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
		bw, start, err := bwrapSteps(ctx, ws, env)
		if err != nil {
			return nil, err
		}
		bwrapAll, bwrapStarts = append(bwrapAll, bw), append(bwrapStarts, start)
		b.progress("(b) %d/%d repetitions", i+1, reps)
	}
	b.progressDone()
	res.Lathe, res.Direct, res.Executor, res.CPU = ms(median(latheAll)), ms(median(directAll)), ms(median(execAll)), ms(median(cpu))
	res.Bwrap, res.BwrapStart = ms(median(bwrapAll)), ms(median(bwrapStarts))
	for i := range latheAll {
		res.BwrapAll = append(res.BwrapAll, ms(bwrapAll[i]))
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

// executorSteps runs the 50 steps through the agents' default executor
// (the sandbox), as the agent does, but with no server: output goes to a
// spool file as in the agent, and nothing is reported. The sandbox's start
// is not counted, as Lathe's figure starts at the first step.
func executorSteps(ctx context.Context, dir string, env []string) (d time.Duration, err error) {
	out, err := os.CreateTemp("", "lathe-bench-spool-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	ex, err := executor.New(executor.Options{})
	if err != nil {
		return 0, err
	}
	home, ctl := dir+".home", dir+".control"
	for _, d := range []string{home, ctl} {
		os.RemoveAll(d)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
	}
	defer os.RemoveAll(ctl)
	pprof.Do(ctx, pprof.Labels("part", "executor"), func(ctx context.Context) {
		job, startErr := ex.Start(ctx, executor.Spec{Workspace: dir, Home: home, Control: ctl, Env: env, Log: out})
		if startErr != nil {
			err = startErr
			return
		}
		defer job.Close()
		t0 := time.Now()
		for range stepCount {
			code, runErr := job.Run(ctx, executor.Step{Script: "true", Output: out})
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
	return executor.JobEnv(executor.BaseEnv(workspace+".home", nil), &lathe.Assignment{
		AttemptID: 1, Attempt: 1, JobID: 1, RunID: 1, Project: "bench", Pipeline: "bench", RunNumber: 1,
		Stage: "default", Job: "bench", Commit: commit, Ref: "refs/heads/main", Branch: "main", Event: "manual",
	}, workspace)
}

// bwrapSteps runs the 50 commands by hand in one bubblewrap sandbox of the
// same shape as the agents' (read-only root, private /tmp, /dev and /proc,
// own PID namespace and session, the workspace writable), each by its own
// /bin/sh -e -c as a step is. It returns their time without bwrap's own
// start, and that start alone (bwrap running `true`).
func bwrapSteps(ctx context.Context, dir string, env []string) (steps, start time.Duration, err error) {
	byHand := func(script string) (time.Duration, error) {
		cmd := exec.CommandContext(ctx, "bwrap", append(bwrapByHand(dir, "/tmp"), "/bin/sh", "-c", script)...)
		cmd.Env = env
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("bwrap by hand: %v: %s", err, out)
		}
		return time.Since(t0), nil
	}
	err = asFloor(ctx, func(ctx context.Context) error {
		if start, err = byHand("true"); err != nil {
			return err
		}
		total, err := byHand(fmt.Sprintf(`i=0; while [ $i -lt %d ]; do /bin/sh -e -c true; i=$((i+1)); done`, stepCount))
		steps = total - start
		return err
	})
	return steps, start, err
}

// bwrapByHand is bwrap's arguments, up to the command, for a sandbox of
// the agents' shape built by hand: its own PID and IPC namespaces and
// session, a read-only root, private /dev and /proc, an empty file system
// on each of private, dir writable and the working directory, and a user
// namespace where the benchmark is not root.
func bwrapByHand(dir string, private ...string) []string {
	var args []string
	if os.Geteuid() != 0 {
		args = append(args, "--unshare-user")
	}
	args = append(args, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc",
		"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc")
	for _, d := range private {
		args = append(args, "--perms", "1777", "--tmpfs", d)
	}
	return append(args, "--bind", dir, dir, "--chdir", dir, "--")
}
