package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// (a) Trigger-to-first-step latency with idle agents.
//
// Each run is triggered through the API, followed to its end over the run's
// event stream, and then read back: the latency is the first pipeline step's
// started_at (steps[0] is the checkout) minus the client's clock just before
// the trigger request was sent. Server, agents and benchmark share one clock,
// since the server runs in this process.
//
// The floor is the same work without Lathe, measured between Lathe's runs so
// both see the same machine: `git worktree add` of the commit from a bare
// mirror (what git/checkout.go runs) plus /bin/sh -e -c 'echo started' with a
// job-sized environment. The trigger's own git processes (ls-remote and
// cat-file, which git/git.go's Resolve runs on every trigger) are timed too,
// as the floor of the trigger phase.

// latencyPhase is one segment of the trigger-to-first-step path.
type latencyPhase struct {
	Name  string  `json:"name"`
	Lathe summary `json:"lathe"`
	// Floor is the direct cost of the same work, when there is one.
	Floor     *summary `json:"floor,omitempty"`
	FloorWhat string   `json:"floor_what,omitempty"`
}

// latencyResult is (a) for one database engine.
type latencyResult struct {
	Engine string `json:"engine"`
	Runs   int    `json:"runs"`
	// Latency is trigger → first step started_at.
	Latency summary `json:"latency"`
	// Floor is worktree add + sh 'echo started', per run.
	Floor summary `json:"floor"`
	// Overhead is Latency − Floor, run by run (paired with the floor measured next to it).
	Overhead summary `json:"overhead"`
	// ToFinished is trigger → first step finished_at: the same span as the
	// floor (which includes the step's whole process), for a like-for-like ratio.
	ToFinished summary        `json:"to_first_step_finished"`
	Phases     []latencyPhase `json:"phases"`
	PerAgent   map[string]int `json:"runs_per_agent"`
	Warmup     int            `json:"warmup_runs"`
}

// latencySample is one Lathe run's timestamps.
type latencySample struct {
	sent, answered             time.Time // client, around the trigger request
	created                    time.Time // run created_at
	claimed                    time.Time // attempt started_at (the claim)
	checkoutStart, checkoutEnd time.Time // steps[0]
	stepStart, stepEnd         time.Time // steps[1]
}

// floorSample is one direct execution of the same work.
type floorSample struct {
	lsRemote, catFile, checkout, spawn time.Duration
}

// maxWarmup bounds the warm-up runs: enough for every embedded agent to
// have fetched its mirror before measuring.
const maxWarmup = 20

func benchLatency(ctx context.Context, b *bench, engine, dbURL string, runs int) (*latencyResult, error) {
	dataDir := filepath.Join(b.tmp, "latency-"+engine)
	in, err := startLathe(ctx, dataDir, dbURL, embeddedAgents, b.log, b.project(), b.repo)
	if err != nil {
		return nil, err
	}
	defer b.stop(in)

	fl, err := newFloor(ctx, b, "latency-"+engine)
	if err != nil {
		return nil, err
	}
	res := &latencyResult{Engine: engine, Runs: runs, PerAgent: map[string]int{}}

	// Warm up: the server's mirror, each agent's mirror, the pipeline cache,
	// connection pools. An agent runs one job at a time, so two runs
	// triggered together go to both agents; repeat until each has run one.
	seen := map[string]bool{}
	for res.Warmup < maxWarmup && len(seen) < embeddedAgents {
		agents, err := warmup(ctx, in, embeddedAgents)
		if err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		for _, a := range agents {
			seen[a] = true
		}
		res.Warmup += embeddedAgents
	}
	for range 3 {
		if _, err := fl.labeled(ctx); err != nil {
			return nil, fmt.Errorf("floor warm-up: %w", err)
		}
	}

	samples := make([]latencySample, 0, runs)
	floors := make([]floorSample, 0, runs)
	for i := range runs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, agent, err := latencyRun(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i+1, err)
		}
		samples = append(samples, s)
		res.PerAgent[agent]++
		// Let the agent clean its workspace before the floor takes the CPU.
		time.Sleep(5 * time.Millisecond)
		f, err := fl.labeled(ctx)
		if err != nil {
			return nil, fmt.Errorf("floor %d: %w", i+1, err)
		}
		floors = append(floors, f)
		time.Sleep(5 * time.Millisecond)
		b.progress("(a) %s: %d/%d runs", engine, i+1, runs)
	}
	b.progressDone()
	res.fill(samples, floors)
	return res, nil
}

// warmup triggers n runs at once, waits for them, and returns the agents that ran them.
func warmup(ctx context.Context, in *instance, n int) ([]string, error) {
	var runs []triggered
	for range n {
		t, err := in.trigger(ctx, latencyPipeline)
		if err != nil {
			return nil, err
		}
		runs = append(runs, t)
	}
	var agents []string
	for _, t := range runs {
		if _, err := in.wait(ctx, t.run.ID); err != nil {
			return nil, err
		}
		j, err := in.job(ctx, t.run.Jobs[0].ID)
		if err != nil {
			return nil, err
		}
		agents = append(agents, j.Attempts[len(j.Attempts)-1].Agent)
	}
	return agents, nil
}

// latencyRun triggers one run of the latency pipeline and reads its times.
func latencyRun(ctx context.Context, in *instance) (latencySample, string, error) {
	t, _, a, err := in.runJob(ctx, latencyPipeline)
	if err != nil {
		return latencySample{}, "", err
	}
	steps, err := stepTimes(a, 2)
	if err != nil {
		return latencySample{}, "", err
	}
	return latencySample{
		sent: t.sent, answered: t.answered,
		created: t.run.CreatedAt, claimed: *a.StartedAt,
		checkoutStart: *steps[0].StartedAt, checkoutEnd: *steps[0].FinishedAt,
		stepStart: *steps[1].StartedAt, stepEnd: *steps[1].FinishedAt,
	}, a.Agent, nil
}

func (r *latencyResult) fill(samples []latencySample, floors []floorSample) {
	col := func(f func(latencySample) time.Duration) summary {
		xs := make([]time.Duration, len(samples))
		for i, s := range samples {
			xs[i] = f(s)
		}
		return summarize(xs)
	}
	fcol := func(f func(floorSample) time.Duration) *summary {
		xs := make([]time.Duration, len(floors))
		for i, s := range floors {
			xs[i] = f(s)
		}
		s := summarize(xs)
		return &s
	}
	r.Latency = col(func(s latencySample) time.Duration { return s.stepStart.Sub(s.sent) })
	r.ToFinished = col(func(s latencySample) time.Duration { return s.stepEnd.Sub(s.sent) })
	r.Floor = *fcol(func(f floorSample) time.Duration { return f.checkout + f.spawn })
	over := make([]time.Duration, len(samples))
	for i := range samples {
		over[i] = samples[i].stepStart.Sub(samples[i].sent) - (floors[i].checkout + floors[i].spawn)
	}
	r.Overhead = summarize(over)
	lsRemote := fcol(func(f floorSample) time.Duration { return f.lsRemote })
	catFile := fcol(func(f floorSample) time.Duration { return f.catFile })
	r.Phases = []latencyPhase{
		{Name: "trigger sent → run created (resolve ref, read pipeline)",
			Lathe:     col(func(s latencySample) time.Duration { return s.created.Sub(s.sent) }),
			Floor:     fcol(func(f floorSample) time.Duration { return f.lsRemote + f.catFile }),
			FloorWhat: fmt.Sprintf("git ls-remote (p50 %s) + git cat-file -e (p50 %s)", fmtMS(lsRemote.P50), fmtMS(catFile.P50))},
		{Name: "run created → job claimed (queue, wake agent)",
			Lathe: col(func(s latencySample) time.Duration { return s.claimed.Sub(s.created) })},
		{Name: "job claimed → checkout started (hand-over)",
			Lathe: col(func(s latencySample) time.Duration { return s.checkoutStart.Sub(s.claimed) })},
		{Name: "checkout (steps[0])",
			Lathe: col(func(s latencySample) time.Duration { return s.checkoutEnd.Sub(s.checkoutStart) }),
			Floor: fcol(func(f floorSample) time.Duration { return f.checkout }), FloorWhat: "git worktree add"},
		{Name: "checkout finished → first step started",
			Lathe: col(func(s latencySample) time.Duration { return s.stepStart.Sub(s.checkoutEnd) })},
		{Name: "first step runs (echo started)",
			Lathe: col(func(s latencySample) time.Duration { return s.stepEnd.Sub(s.stepStart) }),
			Floor: fcol(func(f floorSample) time.Duration { return f.spawn }), FloorWhat: "/bin/sh -e -c 'echo started'"},
		{Name: "trigger request round trip (client)",
			Lathe: col(func(s latencySample) time.Duration { return s.answered.Sub(s.sent) })},
	}
}

// floor does the work of one run directly: resolve the ref and check it out
// of a bare mirror with git, then run the step with sh.
type floor struct {
	repo, commit, mirror, wsRoot string
	env                          []string
	n                            int
}

func newFloor(ctx context.Context, b *bench, name string) (*floor, error) {
	f := &floor{repo: b.repo, commit: b.commit, mirror: filepath.Join(b.tmp, name+"-floor", "mirror.git"), wsRoot: filepath.Join(b.tmp, name+"-floor", "ws")}
	if err := makeMirror(ctx, b.repo, f.mirror); err != nil {
		return nil, err
	}
	f.env = jobEnv(filepath.Join(f.wsRoot, "0"), b.commit)
	return f, nil
}

func (f *floor) labeled(ctx context.Context) (s floorSample, err error) {
	err = asFloor(ctx, func(ctx context.Context) (err error) {
		s, err = f.once(ctx)
		return err
	})
	return s, err
}

func (f *floor) once(ctx context.Context) (floorSample, error) {
	var s floorSample
	f.n++
	ws := filepath.Join(f.wsRoot, strconv.Itoa(f.n))

	t0 := time.Now()
	if _, err := gitOut(ctx, f.mirror, "ls-remote", "--symref", "--end-of-options", f.repo, "main"); err != nil {
		return s, err
	}
	tr := time.Now()
	if _, err := gitOut(ctx, f.mirror, "cat-file", "-e", f.commit+"^{commit}"); err != nil {
		return s, err
	}
	t1 := time.Now()
	if _, err := gitOut(ctx, f.mirror, "worktree", "add", "--detach", "--force", "--quiet", ws, f.commit); err != nil {
		return s, err
	}
	t2 := time.Now()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-e", "-c", firstStep)
	cmd.Dir, cmd.Env = ws, f.env
	if err := cmd.Run(); err != nil {
		return s, fmt.Errorf("sh: %w", err)
	}
	t3 := time.Now()
	s.lsRemote, s.catFile, s.checkout, s.spawn = tr.Sub(t0), t1.Sub(tr), t2.Sub(t1), t3.Sub(t2)
	return s, removeWorktree(f.mirror, ws)
}
