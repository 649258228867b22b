package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// (scale) Many replicas on one PostgreSQL: for each of -scale-replicas
// (1, 2 and 3 by default), that many `lathe server` processes on one fresh
// PostgreSQL database drain -scale-jobs one-step jobs (the throughput
// section's pipeline) with -scale-agents `lathe agent` processes spread
// over them round-robin; the runs are triggered through the first replica.
// For each: jobs per second, the CPU per job of the replicas (all of them),
// of PostgreSQL (the postmaster and every backend) and of the agents, and
// PostgreSQL's share of the CPU the whole drain used. The floor is the
// throughput section's: as many plain workers as agents doing each job's
// own work (checkout and spawn) without Lathe, half before the first drain
// and half after the last.
//
// Then (scale fleet) -scale-fleet simulated agents long-poll the largest
// set of replicas, spread round-robin (see fleetResult): each replica's
// memory and its CPU per idle poll.
//
// Every process runs on this machine, PostgreSQL included: on a small
// machine PostgreSQL's share says where the replicas stop adding
// throughput.

// scaleResult is (scale).
type scaleResult struct {
	Jobs   int         `json:"jobs"`
	Agents int         `json:"agents"`
	Runs   []*scaleRun `json:"runs"`
	Floor  tpFloor     `json:"floor"`
	Fleet  *scaleFleet `json:"fleet,omitempty"`
	Note   string      `json:"postgres_note"`
}

// scaleRun is one drain with Replicas replicas.
type scaleRun struct {
	Replicas   int     `json:"replicas"`
	Seconds    float64 `json:"seconds"`
	JobsPerSec float64 `json:"jobs_per_second"`
	// CPU per job, in milliseconds, in the drain window.
	ServerMS   float64 `json:"server_cpu_per_job_ms"`
	PostgresMS float64 `json:"postgres_cpu_per_job_ms"`
	AgentsMS   float64 `json:"agents_cpu_per_job_ms"`
	StepsMS    float64 `json:"agent_children_cpu_per_job_ms"`
	// MachineMS is the whole machine's busy CPU (see machineCPU), 0
	// where it cannot be read.
	MachineMS float64 `json:"machine_cpu_per_job_ms,omitempty"`
	// PostgresShare is PostgreSQL's CPU over the whole machine's (over
	// all the CPU above where that cannot be read); MachineShare is that
	// CPU over what the machine's CPUs offer in the window (near 1: the
	// machine is saturated).
	PostgresShare float64        `json:"postgres_share"`
	MachineShare  float64        `json:"machine_share"`
	PerReplica    []float64      `json:"server_cpu_per_replica_ms"`
	PerAgent      map[string]int `json:"jobs_per_agent"`
}

func (r *scaleRun) totalMS() float64 { return r.ServerMS + r.PostgresMS + r.AgentsMS + r.StepsMS }

func benchScale(ctx context.Context, b *bench) (*scaleResult, error) {
	cfg := b.cfg
	res := &scaleResult{Jobs: cfg.scaleJobs, Agents: cfg.scaleAgents}
	res.Floor = tpFloor{Jobs: cfg.scaleJobs, Workers: cfg.scaleAgents}
	if _, err := ensureNoFile(uint64(cfg.scaleFleet) + 1024); err != nil {
		return nil, err
	}
	bin, err := b.latheBinary(ctx)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(b.tmp, "scale")
	repo := filepath.Join(dir, "repo")
	commit, err := makeRepoWith(ctx, repo, map[string]string{
		".lathe/" + tpPipeline + ".yml": tpPipelineFile(cfg.tpRunJobs),
		".lathe/" + tpWarmup + ".yml":   tpPipelineFile(2 * cfg.scaleAgents),
	})
	if err != nil {
		return nil, err
	}
	floor, err := newFloorRunner(ctx, repo, commit, cfg.scaleAgents)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	if res.Floor.Before, err = floor.run(ctx, cfg.scaleJobs/2, &res.Floor, false); err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	for i, n := range cfg.scaleReplicas {
		dbURL, err := b.postgresDB(ctx, fmt.Sprintf("bench_scale_%d_%d", n, i))
		res.Note = b.pgNote
		if err != nil {
			return res, err
		}
		if dbURL == "" {
			return res, fmt.Errorf("the scale section needs PostgreSQL: %s", b.pgNote)
		}
		r, err := scaleDrain(ctx, b, bin, filepath.Join(dir, fmt.Sprintf("r%d-%d", n, i)), dbURL, repo, n)
		if err != nil {
			return res, fmt.Errorf("%d replicas: %w", n, err)
		}
		res.Runs = append(res.Runs, r)
		fmt.Fprintf(b.out, "  (scale) %d replicas: %.1f jobs/s, server %.2f ms/job, PostgreSQL %.2f ms/job\n", n, r.JobsPerSec, r.ServerMS, r.PostgresMS)
	}
	if res.Floor.After, err = floor.run(ctx, cfg.scaleJobs-cfg.scaleJobs/2, &res.Floor, false); err != nil {
		return res, fmt.Errorf("floor: %w", err)
	}
	res.Floor.fill()
	if cfg.scaleFleet > 0 {
		n := cfg.scaleReplicas[len(cfg.scaleReplicas)-1]
		dbURL, err := b.postgresDB(ctx, "bench_scale_fleet")
		if err != nil {
			return res, err
		}
		if res.Fleet, err = scaleFleetRun(ctx, b, bin, filepath.Join(dir, "fleet"), dbURL, n); err != nil {
			return res, fmt.Errorf("fleet: %w", err)
		}
	}
	return res, nil
}

// replicaSet is n `lathe server` processes on one PostgreSQL database:
// the first issues the admin token and the secret key, the others start
// with copies of both.
type replicaSet struct {
	servers []*serverChild
}

// With profile set, each replica writes its CPU profile to
// profile-N.pprof (N from 1) until it stops.
func startReplicas(ctx context.Context, bin, dir, dbURL string, n int, profile string) (*replicaSet, error) {
	rs := &replicaSet{}
	first := filepath.Join(dir, "replica-1")
	for i := 1; i <= n; i++ {
		data := filepath.Join(dir, fmt.Sprintf("replica-%d", i))
		args := []string{"--database-url", dbURL}
		if i > 1 {
			if err := os.MkdirAll(data, 0o700); err != nil {
				rs.stop()
				return nil, err
			}
			tok, err := os.ReadFile(filepath.Join(first, "admin.token"))
			if err == nil {
				err = os.WriteFile(filepath.Join(data, "admin.token"), tok, 0o600)
			}
			if err != nil {
				rs.stop()
				return nil, err
			}
			args = append(args, "--secret-key-file", filepath.Join(first, "secret.key"))
		}
		if profile != "" {
			args = append(args, "--cpu-profile", fmt.Sprintf("%s-%d.pprof", profile, i))
		}
		s, err := startServerChild(ctx, bin, data, args...)
		if err != nil {
			rs.stop()
			return nil, fmt.Errorf("replica %d: %w", i, err)
		}
		rs.servers = append(rs.servers, s)
	}
	return rs, nil
}

// stop stops every replica, returning the first failure.
func (rs *replicaSet) stop() error {
	var first error
	for _, s := range rs.servers {
		if err := s.stop(stopTimeout); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// cpu is each replica's CPU (its own and its git children's).
func (rs *replicaSet) cpu() ([]time.Duration, error) {
	out := make([]time.Duration, len(rs.servers))
	for i, s := range rs.servers {
		c, err := readProcCPU(s.pid())
		if err != nil {
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
		out[i] = c.self + c.children
	}
	return out, nil
}

// scaleDrain starts n replicas and the agents, warms them up, and drains
// the jobs once.
func scaleDrain(ctx context.Context, b *bench, bin, dir, dbURL, repo string, n int) (*scaleRun, error) {
	cfg := b.cfg
	rs, err := startReplicas(ctx, bin, dir, dbURL, n, "")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := rs.stop(); err != nil {
			b.stopErrs = append(b.stopErrs, err.Error())
		}
	}()
	admin := rs.servers[0].admin
	in := &instance{c: admin, project: b.project()}
	if err := admin.Do(ctx, http.MethodPost, "/api/v1/projects", map[string]string{"name": in.project, "url": repo}, nil); err != nil {
		return nil, fmt.Errorf("create project: %w", err)
	}
	var urls []string
	for _, s := range rs.servers {
		urls = append(urls, s.url)
	}
	fl, err := startAgentsOn(ctx, b, admin, bin, urls, filepath.Join(dir, "agents"), cfg.scaleAgents)
	if err != nil {
		return nil, err
	}
	defer fl.stop()
	if _, err := fl.warmup(ctx, in); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	before, err := fl.attemptCounts(ctx, in)
	if err != nil {
		return nil, err
	}
	r := &scaleRun{Replicas: n}
	if err := scaleWindow(ctx, b, in, rs, fl, r); err != nil {
		return nil, err
	}
	after, err := fl.attemptCounts(ctx, in)
	if err != nil {
		return nil, err
	}
	r.PerAgent = map[string]int{}
	for name, c := range after {
		r.PerAgent[name] = c - before[name]
	}
	return r, nil
}

// scaleWindow triggers every run, waits for all, and measures the window.
func scaleWindow(ctx context.Context, b *bench, in *instance, rs *replicaSet, fl *agentFleet, r *scaleRun) error {
	cfg := b.cfg
	runs := cfg.scaleJobs / cfg.tpRunJobs
	srv0, err := rs.cpu()
	if err != nil {
		return err
	}
	pg0, machine0 := b.pg.cpu(), machineCPU()
	agents0, err := fl.cpu()
	if err != nil {
		return err
	}
	t0 := time.Now()
	ids := make([]int64, 0, runs)
	for range runs {
		var run lathe.Run
		if err := in.c.Do(ctx, http.MethodPost, "/api/v1/projects/"+in.project+"/runs", map[string]string{"pipeline": tpPipeline}, &run); err != nil {
			return fmt.Errorf("trigger: %w", err)
		}
		ids = append(ids, run.ID)
	}
	shown := -1
	done, err := waitRuns(ctx, in, ids, drainTimeout(cfg.scaleJobs), func(d, total int) {
		if d > shown {
			shown = d
			b.progress("(scale) %d replicas: %d/%d runs finished", len(rs.servers), d, total)
		}
	})
	b.progressDone()
	if err != nil {
		return err
	}
	wall, machine1 := time.Since(t0), machineCPU()
	srv1, err := rs.cpu()
	if err != nil {
		return err
	}
	pg1 := b.pg.cpu()
	agents1, err := fl.cpu()
	if err != nil {
		return err
	}
	var end time.Time
	for _, run := range done {
		if run.Status != lathe.StatusSuccess {
			return fmt.Errorf("run %d ended %s", run.ID, run.Status)
		}
		if run.FinishedAt.After(end) {
			end = *run.FinishedAt
		}
	}
	r.Seconds = end.Sub(t0).Seconds()
	r.JobsPerSec = float64(cfg.scaleJobs) / r.Seconds
	per := func(d time.Duration) float64 { return ms(d) / float64(cfg.scaleJobs) }
	var srv time.Duration
	for i := range srv1 {
		d := srv1[i] - srv0[i]
		srv += d
		r.PerReplica = append(r.PerReplica, per(d))
	}
	agents := agents1.sub(agents0)
	r.ServerMS, r.PostgresMS, r.AgentsMS, r.StepsMS = per(srv), per(pg1-pg0), per(agents.self), per(agents.children)
	total := r.totalMS()
	if machine0 > 0 && machine1 > 0 {
		// The whole machine sees what the processes above miss: the
		// sandbox's processes, which no agent waits for.
		r.MachineMS = per(machine1 - machine0)
		total = r.MachineMS
	}
	if total > 0 {
		r.PostgresShare = r.PostgresMS / total
	}
	r.MachineShare = total * float64(cfg.scaleJobs) / ms(wall) / float64(runtime.NumCPU())
	return nil
}

// startAgentsOn starts n `lathe agent` processes, the i-th on urls[i mod
// len(urls)], and waits until the server has heard from every one.
func startAgentsOn(ctx context.Context, b *bench, admin interface {
	Do(context.Context, string, string, any, any) error
}, bin string, urls []string, dir string, n int) (*agentFleet, error) {
	var rt lathe.RegistrationToken
	if err := admin.Do(ctx, http.MethodPost, "/api/v1/registration-tokens", map[string]string{"name": "bench-scale"}, &rt); err != nil {
		return nil, fmt.Errorf("create registration token: %w", err)
	}
	fl := &agentFleet{}
	for i := 1; i <= n; i++ {
		name := "scale-" + strconv.Itoa(i)
		p, err := startAgent(bin, urls[(i-1)%len(urls)], rt.Token, name, filepath.Join(dir, name), []string{tpLabel})
		if err != nil {
			fl.stop()
			return nil, err
		}
		fl.names, fl.procs = append(fl.names, name), append(fl.procs, p)
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		var page lathe.Page[*lathe.Agent]
		err := admin.Do(ctx, http.MethodGet, "/api/v1/agents?online=true&limit=200&label="+tpLabel, nil, &page)
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

// cpu is the cluster's CPU so far: the postmaster's own and that of the
// backends it has reaped, plus every live backend's (0 without a cluster
// of the benchmark's own, e.g. with -postgres URL).
func (c *pgCluster) cpu() time.Duration {
	if c == nil || c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	root := c.cmd.Process.Pid
	var sum time.Duration
	if p, err := readProcCPU(root); err == nil {
		sum += p.self + p.children
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root || parentPID(pid) != root {
			continue
		}
		if p, err := readProcCPU(pid); err == nil {
			sum += p.self + p.children
		}
	}
	return sum
}

// parentPID reads a process's parent from /proc/PID/stat (-1 if gone).
func parentPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 2 {
		return -1
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return ppid
}

// printScale prints (scale).
func printScale(w io.Writer, s *scaleResult) {
	fmt.Fprintf(w, "\n(scale) %d one-step jobs drained by %d `lathe agent` processes spread over N `lathe server` replicas on one PostgreSQL; all on this machine\n", s.Jobs, s.Agents)
	floorSelf := s.Floor.SelfMS
	widths := []int{10, 12, 16, 18, 18, 12, 14}
	row(w, widths, "replicas", "jobs/s", "vs 1 replica", "server CPU/job", "PostgreSQL/job", "PG share", "machine busy")
	var one float64
	for _, r := range s.Runs {
		if r.Replicas == 1 && one == 0 {
			one = r.JobsPerSec
		}
		vs := "—"
		if one > 0 {
			vs = fmt.Sprintf("%.2f×", r.JobsPerSec/one)
		}
		row(w, widths, strconv.Itoa(r.Replicas), fmt.Sprintf("%.1f", r.JobsPerSec), vs,
			fmtMS(r.ServerMS)+" "+fmtRatio(r.ServerMS, floorSelf), fmtMS(r.PostgresMS)+" "+fmtRatio(r.PostgresMS, floorSelf),
			fmt.Sprintf("%.0f%%", 100*r.PostgresShare), fmt.Sprintf("%.0f%%", 100*r.MachineShare))
	}
	fmt.Fprintf(w, "  floor: %d plain Go workers doing each job's own work without Lathe (as in (throughput)): %.1f jobs/s, workers' CPU %s/job, git and sh %s/job;\n",
		s.Floor.Workers, s.Floor.JobsPerSec, fmtMS(s.Floor.SelfMS), fmtMS(s.Floor.ChildrenMS))
	fmt.Fprintf(w, "  the ×s beside CPU per job are against the workers' CPU per job. PG share = PostgreSQL's CPU / the whole machine's (/proc/stat: every\n")
	fmt.Fprintf(w, "  process, the sandbox's too); machine busy = the whole machine's CPU / (window × CPUs). Targets: 3 replicas ≥ 2× one until PostgreSQL\n")
	fmt.Fprintf(w, "  saturates; server CPU ≤ 1 ms per job.\n")
	for _, r := range s.Runs {
		fmt.Fprintf(w, "  %d replicas: %.1f s; CPU per job: replicas %s (each: %s) + PostgreSQL %s + agents %s + their waited-for children %s; the whole machine %s; %s\n",
			r.Replicas, r.Seconds, fmtMS(r.ServerMS), msList(r.PerReplica), fmtMS(r.PostgresMS), fmtMS(r.AgentsMS), fmtMS(r.StepsMS), fmtMS(r.MachineMS), spread(r.PerAgent))
	}
	if s.Note != "" {
		fmt.Fprintf(w, "  %s\n", s.Note)
	}
	if s.Fleet != nil {
		printScaleFleet(w, s.Fleet)
	}
}

// msList prints milliseconds, comma-separated.
func msList(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmtMS(x)
	}
	return strings.Join(s, ", ")
}
