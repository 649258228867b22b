package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// (throughput) Jobs per second: -tp-jobs one-step jobs, as -tp-jobs /
// -tp-run-jobs runs of one pipeline whose jobs need nothing (`needs: []`),
// all triggered at once and drained by -tp-agents real `lathe agent`
// processes that registered with a registration token. The clock runs from
// just before the first trigger request to the last run's finished_at (the
// server runs in this process, so one clock serves both).
//
// A job's own work on this path is a `git worktree add` of the commit from
// the agent's mirror and one `/bin/sh -e -c` spawn; on a small machine that
// work alone may cost more CPU than the target allows. So the floor is
// measured beside it: as many plain Go workers as agents doing exactly that
// work for the same number of jobs, without Lathe, half just before the
// drain and half just after (see tpfloor.go).
//
// The server's CPU profile for the drain window says where the server's
// time goes; CPU per job of the server, the agents and their children (git
// and sh) says which process spends the machine.

// tpPipeline is the pipeline each throughput run triggers; tpWarmup is the
// same with two jobs per agent, for the warm-up.
const (
	tpPipeline = "tp"
	tpWarmup   = "tp-warmup"
)

// tpStep is the one step of every throughput job; the floor runs it too.
const tpStep = "echo ok"

// tpLabel routes throughput jobs to the throughput agents only.
const tpLabel = "bench-tp"

// throughputResult is (throughput) for one database engine.
type throughputResult struct {
	Engine  string `json:"engine"`
	Jobs    int    `json:"jobs"`
	Runs    int    `json:"runs"`
	RunJobs int    `json:"jobs_per_run"`
	Agents  int    `json:"agents"`
	Warmup  int    `json:"warmup_jobs"`
	// Seconds is first trigger sent → last run finished_at.
	Seconds    float64 `json:"seconds"`
	JobsPerSec float64 `json:"jobs_per_second"`
	// TriggerMS is how long sending every trigger took (agents drain meanwhile).
	TriggerMS float64 `json:"trigger_ms"`
	// JobTime is each job's started_at (claim) → finished_at.
	JobTime  summary        `json:"job_claim_to_finish"`
	PerAgent map[string]int `json:"jobs_per_agent"`
	CPU      tpCPU          `json:"cpu_per_job"`
	Floor    tpFloor        `json:"floor"`
	// Isolated is the floor with the step isolated as the agents isolate
	// it (see isolatedStep); nil where bwrap is missing.
	Isolated *tpFloor `json:"isolated_floor,omitempty"`
	// ServerFloor is the least a server does per job (see queuefloor.go).
	ServerFloor *serverFloor    `json:"server_floor,omitempty"`
	Profile     *profileSummary `json:"server_profile,omitempty"`
}

// tpCPU is CPU per job, in milliseconds, of each process kind in the drain window.
type tpCPU struct {
	// Server is this process: the in-process server, and the benchmark
	// waiting for the runs (a few small requests per second).
	Server float64 `json:"server_ms"`
	// ServerGit is the server's children: git resolving each trigger.
	ServerGit float64 `json:"server_git_ms"`
	Agents    float64 `json:"agents_ms"`
	// Steps is the agents' children that they waited for: git, and
	// bwrap itself.
	Steps float64 `json:"agent_children_ms"`
	// Machine is the whole machine's busy CPU (see machineCPU): the above
	// and what they miss, chiefly the sandbox's processes (its init, the
	// step runner and the step's shell), which no agent waits for.
	Machine float64 `json:"machine_ms,omitempty"`
}

func (c tpCPU) total() float64 { return c.Server + c.ServerGit + c.Agents + c.Steps }

func benchThroughput(ctx context.Context, b *bench, engine string) (*throughputResult, error) {
	dbURL := ""
	if engine == "postgres" {
		var err error
		if dbURL, err = b.postgresDB(ctx, "bench_throughput"); err != nil || dbURL == "" {
			return nil, err
		}
	}
	bin, err := b.latheBinary(ctx)
	if err != nil {
		return nil, err
	}
	cfg := b.cfg
	dir := filepath.Join(b.tmp, "throughput-"+engine)
	repo := filepath.Join(dir, "repo")
	commit, err := makeRepoWith(ctx, repo, map[string]string{
		".lathe/" + tpPipeline + ".yml": tpPipelineFile(cfg.tpRunJobs),
		".lathe/" + tpWarmup + ".yml":   tpPipelineFile(2 * cfg.tpAgents),
	})
	if err != nil {
		return nil, err
	}
	in, err := startLathe(ctx, filepath.Join(dir, "data"), dbURL, 0, b.log, b.project(), repo)
	if err != nil {
		return nil, err
	}
	serverUp := true
	defer func() {
		if serverUp {
			b.stop(in)
		}
	}()
	fl, err := startFleet(ctx, b, in, bin, engine, dir, cfg.tpAgents)
	if err != nil {
		return nil, err
	}
	defer fl.stop()

	res := &throughputResult{Engine: engine, Jobs: cfg.tpJobs, Runs: cfg.tpJobs / cfg.tpRunJobs, RunJobs: cfg.tpRunJobs, Agents: cfg.tpAgents}
	res.Floor = tpFloor{Jobs: cfg.tpJobs, Workers: cfg.tpAgents}
	if res.Warmup, err = fl.warmup(ctx, in); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	floor, err := newFloorRunner(ctx, repo, commit, cfg.tpAgents)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	if _, err := exec.LookPath("bwrap"); err == nil {
		res.Isolated = &tpFloor{Jobs: cfg.tpJobs, Workers: cfg.tpAgents}
	}
	// The first half of each floor, with the agents idle in their long-polls.
	if err := floorHalves(ctx, floor, cfg.tpJobs/2, res, true); err != nil {
		return nil, err
	}
	before, err := fl.attemptCounts(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := drain(ctx, b, in, fl, res); err != nil {
		return nil, err
	}
	after, err := fl.attemptCounts(ctx, in)
	if err != nil {
		return nil, err
	}
	res.PerAgent = map[string]int{}
	for name, n := range after {
		res.PerAgent[name] = n - before[name]
	}
	// Stop the agents and the server before the second half of the floor
	// so it has the machine (and this process's children's CPU) to itself.
	if err := fl.stop(); err != nil {
		return nil, err
	}
	b.stop(in)
	serverUp = false
	fmt.Fprintf(b.out, "  (throughput) %s: %d jobs in %.1f s (%.1f jobs/s); floor's second half …\n", engine, res.Jobs, res.Seconds, res.JobsPerSec)
	if err := floorHalves(ctx, floor, cfg.tpJobs-cfg.tpJobs/2, res, false); err != nil {
		return nil, err
	}
	floorDB := ""
	if engine == "postgres" {
		if floorDB, err = b.postgresDB(ctx, "bench_server_floor"); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(b.out, "  (throughput) %s: the server floor …\n", engine)
	if res.ServerFloor, err = measureServerFloor(ctx, engine, dir, floorDB, cfg.tpJobs, cfg.tpRunJobs, floor); err != nil {
		return nil, err
	}
	return res, nil
}

// tpPipelineFile is a pipeline of n one-step jobs that need nothing, routed
// to the throughput agents.
func tpPipelineFile(n int) string {
	var s strings.Builder
	s.WriteString("jobs:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&s, "  j%04d:\n    needs: []\n    runs-on: [%s]\n    steps:\n      - %s\n", i, tpLabel, tpStep)
	}
	return s.String()
}

// floorHalves runs one half of the floor and of the isolated floor (the
// first when before, else the second, which ends them).
func floorHalves(ctx context.Context, floor *floorRunner, jobs int, res *throughputResult, before bool) error {
	half := func(r *tpFloor, isolated bool) error {
		rate, err := floor.run(ctx, jobs, r, isolated)
		if err != nil {
			return fmt.Errorf("floor (isolated %v): %w", isolated, err)
		}
		if before {
			r.Before = rate
		} else {
			r.After = rate
			r.fill()
		}
		return nil
	}
	if err := half(&res.Floor, false); err != nil {
		return err
	}
	if res.Isolated == nil {
		return nil
	}
	return half(res.Isolated, true)
}

// drain triggers every run at once, waits for all of them, and fills the
// timings, the CPU per job and the server's profile.
func drain(ctx context.Context, b *bench, in *instance, fl *agentFleet, res *throughputResult) error {
	agents0, err := fl.cpu()
	if err != nil {
		return err
	}
	self0, kids0, machine0 := cpuTime(), childrenCPU(), machineCPU()
	prof := startWindowProfile()

	t0 := time.Now()
	ids := make([]int64, 0, res.Runs)
	for range res.Runs {
		var run lathe.Run
		if err := in.c.Do(ctx, http.MethodPost, "/api/v1/projects/"+in.project+"/runs", map[string]string{"pipeline": tpPipeline}, &run); err != nil {
			prof.stop(ctx, b, "")
			return fmt.Errorf("trigger: %w", err)
		}
		if len(run.Jobs) != res.RunJobs {
			prof.stop(ctx, b, "")
			return fmt.Errorf("run %d has %d jobs, want %d", run.ID, len(run.Jobs), res.RunJobs)
		}
		ids = append(ids, run.ID)
	}
	res.TriggerMS = ms(time.Since(t0))
	shown := -1
	runs, err := waitRuns(ctx, in, ids, drainTimeout(res.Jobs), func(done, total int) {
		if done > shown {
			shown = done
			b.progress("(throughput) %s: %d/%d runs finished", res.Engine, done, total)
		}
	})
	self1, kids1, machine1 := cpuTime(), childrenCPU(), machineCPU()
	agents1, cpuErr := fl.cpu()
	b.progressDone()
	res.Profile = prof.stop(ctx, b, "throughput-"+res.Engine)
	if err != nil {
		return err
	}
	if cpuErr != nil {
		return cpuErr
	}

	var end time.Time
	var jobTimes []time.Duration
	for _, r := range runs {
		if r.Status != lathe.StatusSuccess {
			return fmt.Errorf("run %d ended %s", r.ID, r.Status)
		}
		if r.FinishedAt.After(end) {
			end = *r.FinishedAt
		}
		for _, j := range r.Jobs {
			if j.StartedAt != nil && j.FinishedAt != nil {
				jobTimes = append(jobTimes, j.FinishedAt.Sub(*j.StartedAt))
			}
		}
	}
	elapsed := end.Sub(t0)
	res.Seconds = elapsed.Seconds()
	res.JobsPerSec = float64(res.Jobs) / res.Seconds
	res.JobTime = summarize(jobTimes)
	per := func(d time.Duration) float64 { return ms(d) / float64(res.Jobs) }
	agents := agents1.sub(agents0)
	res.CPU = tpCPU{Server: per(self1 - self0), ServerGit: per(kids1 - kids0), Agents: per(agents.self), Steps: per(agents.children)}
	if machine0 > 0 && machine1 > 0 {
		res.CPU.Machine = per(machine1 - machine0)
	}
	return nil
}

// runPoll is how often waitRuns reads a run. Reading a run of 100 jobs
// costs the server about 3 ms of CPU here; every 500 ms it was 8% of the
// server's CPU in the throughput drain.
const runPoll = 2 * time.Second

// drainTimeout bounds the wait for all runs: generous, at 2 jobs/s.
func drainTimeout(jobs int) time.Duration {
	return time.Minute + time.Duration(jobs)*500*time.Millisecond
}

// waitRuns polls the runs, oldest first, every runPoll, until every one has
// finished. Polling one run at a time, seldom, keeps the benchmark's own
// load on the server small (it counts in the server's CPU per job); the
// times come from the server's finished_at, not from when the poll saw it.
func waitRuns(ctx context.Context, in *instance, ids []int64, timeout time.Duration, progress func(done, total int)) ([]*lathe.Run, error) {
	deadline := time.Now().Add(timeout)
	out := make([]*lathe.Run, 0, len(ids))
	for _, id := range ids {
		for {
			var run lathe.Run
			if err := in.c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", id), nil, &run); err != nil {
				return nil, err
			}
			if run.Status.Terminal() && run.FinishedAt != nil {
				out = append(out, &run)
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("run %d not finished after %s (status %s; %d of %d runs done)", id, timeout, run.Status, len(out), len(ids))
			}
			if progress != nil {
				progress(len(out), len(ids))
			}
			select {
			case <-time.After(runPoll):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return out, nil
}

// agentFleet is the throughput section's `lathe agent` processes.
type agentFleet struct {
	names    []string
	procs    []*child
	stopOnce sync.Once
	stopErr  error
}

// startFleet creates a registration token, starts n agents with it and
// waits until the server has heard from every one.
func startFleet(ctx context.Context, b *bench, in *instance, bin, engine, dir string, n int) (*agentFleet, error) {
	var rt lathe.RegistrationToken
	if err := in.c.Do(ctx, http.MethodPost, "/api/v1/registration-tokens", map[string]string{"name": "bench-throughput"}, &rt); err != nil {
		return nil, fmt.Errorf("create registration token: %w", err)
	}
	fl := &agentFleet{}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("tp-%s-%d", engine, i)
		var extra []string
		if b.cfg.profileDir != "" {
			extra = []string{"--cpu-profile", filepath.Join(b.cfg.profileDir, "agent-"+name+".pprof")}
		}
		p, err := startAgent(bin, in.srv.URL, rt.Token, name, filepath.Join(dir, "agents", name), []string{tpLabel}, extra...)
		if err != nil {
			fl.stop()
			return nil, err
		}
		fl.names, fl.procs = append(fl.names, name), append(fl.procs, p)
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		var page lathe.Page[*lathe.Agent]
		err := in.c.Do(ctx, http.MethodGet, "/api/v1/agents?online=true&limit=200&label="+url.QueryEscape(tpLabel), nil, &page)
		if err == nil && len(page.Items) >= n {
			return fl, nil
		}
		for _, p := range fl.procs {
			if !p.running() {
				fl.stop()
				return nil, p.exitErr("exited at start")
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			fl.stop()
			return nil, fmt.Errorf("%d of %d agents online after %s (%v)", len(page.Items), n, readyTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop drains every agent (they are idle by then) once, and returns why
// any did not stop cleanly.
func (fl *agentFleet) stop() error {
	fl.stopOnce.Do(func() { fl.stopErr = stopAll(fl.procs, stopTimeout) })
	return fl.stopErr
}

// cpu sums the agents' CPU.
func (fl *agentFleet) cpu() (procCPU, error) {
	var sum procCPU
	for _, p := range fl.procs {
		c, err := readProcCPU(p.pid())
		if err != nil {
			return sum, fmt.Errorf("%s: %w", p.name, err)
		}
		sum.self += c.self
		sum.children += c.children
	}
	return sum, nil
}

// maxWarmupRuns bounds the warm-up.
const maxWarmupRuns = 3

// warmup runs whole runs until every agent has run a job (and so fetched
// its mirror), and returns the jobs it ran.
func (fl *agentFleet) warmup(ctx context.Context, in *instance) (int, error) {
	jobs := 0
	for range maxWarmupRuns {
		var run lathe.Run
		if err := in.c.Do(ctx, http.MethodPost, "/api/v1/projects/"+in.project+"/runs", map[string]string{"pipeline": tpWarmup}, &run); err != nil {
			return jobs, err
		}
		runs, err := waitRuns(ctx, in, []int64{run.ID}, runTimeout, nil)
		if err != nil {
			return jobs, err
		}
		if runs[0].Status != lathe.StatusSuccess {
			return jobs, fmt.Errorf("warm-up run %d ended %s", run.ID, runs[0].Status)
		}
		jobs += len(runs[0].Jobs)
		counts, err := fl.attemptCounts(ctx, in)
		if err != nil {
			return jobs, err
		}
		idle := 0
		for _, name := range fl.names {
			if counts[name] == 0 {
				idle++
			}
		}
		if idle == 0 {
			return jobs, nil
		}
	}
	return jobs, nil // an agent that never ran one starts cold: its count in the result shows it
}

// attemptCounts counts every agent's attempts so far.
func (fl *agentFleet) attemptCounts(ctx context.Context, in *instance) (map[string]int, error) {
	out := map[string]int{}
	for _, name := range fl.names {
		n, err := agentAttempts(ctx, in, name)
		if err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, nil
}

// maxPages bounds paging through one agent's attempts.
const maxPages = 1000

func agentAttempts(ctx context.Context, in *instance, name string) (int, error) {
	n := 0
	path := "/api/v1/agents/" + url.PathEscape(name) + "/attempts?limit=200"
	for range maxPages {
		var page lathe.Page[*lathe.Attempt]
		if err := in.c.Do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return 0, fmt.Errorf("attempts of %s: %w", name, err)
		}
		n += len(page.Items)
		if page.Next == nil {
			return n, nil
		}
		path = fmt.Sprintf("/api/v1/agents/%s/attempts?limit=200&before=%d", url.PathEscape(name), *page.Next)
	}
	return 0, errors.New("too many pages of attempts")
}
