package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The throughput floor: workers plain Go goroutines, one per agent, draining
// the same number of jobs with exactly a job's own work on the agent's path
// and nothing else — `git worktree add` of the commit from a bare mirror of
// its own (each agent has one), the step through /bin/sh -e -c in its own
// process group with its output in a per-job file and the job's environment,
// then the worktree removed. No server, no claims, no reports.
//
// Other work on the machine comes and goes over minutes, so the floor runs
// in two halves, just before and just after Lathe's drain, and their sum is
// set beside it; each half's rate is kept to show the drift.

// tpFloor is the floor's result.
type tpFloor struct {
	Jobs       int     `json:"jobs"`
	Workers    int     `json:"workers"`
	Seconds    float64 `json:"seconds"`
	JobsPerSec float64 `json:"jobs_per_second"`
	// Before and After are the rates of the halves run before and after Lathe's drain.
	Before float64 `json:"before_jobs_per_second"`
	After  float64 `json:"after_jobs_per_second"`
	// ChildrenMS is git's and sh's CPU per job.
	ChildrenMS float64 `json:"children_cpu_per_job_ms"`
	// SelfMS is this process's CPU per job (starting and waiting for them).
	SelfMS float64 `json:"self_cpu_per_job_ms"`
	// MachineMS is the whole machine's busy CPU per job (see machineCPU).
	MachineMS float64 `json:"machine_cpu_per_job_ms,omitempty"`

	elapsed, children, self, machine time.Duration
}

// floorRunner holds the workers' mirrors between the two halves.
type floorRunner struct {
	root, commit string
	mirrors      []string
	next         atomic.Int64 // jobs numbered so far, so workspaces never repeat
}

// newFloorRunner makes each worker's mirror and warms it with one job, as
// the Lathe side's warm-up warms each agent's.
func newFloorRunner(ctx context.Context, repo, commit string, workers int) (*floorRunner, error) {
	f := &floorRunner{root: filepath.Join(filepath.Dir(repo), "floor"), commit: commit}
	for w := range workers {
		m := filepath.Join(f.dir(w), "mirror.git")
		if err := makeMirror(ctx, repo, m); err != nil {
			return nil, err
		}
		if err := floorJob(ctx, m, f.dir(w), 0, commit, false); err != nil {
			return nil, err
		}
		f.mirrors = append(f.mirrors, m)
	}
	return f, nil
}

// run drains jobs with every worker at once and adds the time and CPU to
// res; isolated runs each step as isolatedStep does.
func (f *floorRunner) run(ctx context.Context, jobs int, res *tpFloor, isolated bool) (rate float64, err error) {
	var left atomic.Int64
	left.Store(int64(jobs))
	errs := make([]error, len(f.mirrors))
	err = asFloor(ctx, func(ctx context.Context) error {
		self0, kids0, machine0 := cpuTime(), childrenCPU(), machineCPU()
		t0 := time.Now()
		var wg sync.WaitGroup
		for w := range f.mirrors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for left.Add(-1) >= 0 && ctx.Err() == nil {
					if err := f.job(ctx, w, isolated); err != nil {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		d := time.Since(t0)
		res.elapsed += d
		res.children += childrenCPU() - kids0
		res.self += cpuTime() - self0
		if machine0 > 0 {
			res.machine += machineCPU() - machine0
		}
		rate = float64(jobs) / d.Seconds()
		return ctx.Err()
	})
	for _, e := range errs {
		if e != nil {
			return 0, e
		}
	}
	return rate, err
}

// fill computes the totals once both halves ran.
func (r *tpFloor) fill() {
	r.Seconds = r.elapsed.Seconds()
	r.JobsPerSec = float64(r.Jobs) / r.Seconds
	r.ChildrenMS = ms(r.children) / float64(r.Jobs)
	r.SelfMS = ms(r.self) / float64(r.Jobs)
	r.MachineMS = ms(r.machine) / float64(r.Jobs)
}

// job runs one job as worker w, isolated or not (see floorJob); its
// output is in f.output(w).
func (f *floorRunner) job(ctx context.Context, w int, isolated bool) error {
	return floorJob(ctx, f.mirrors[w], f.dir(w), int(f.next.Add(1)), f.commit, isolated)
}

func (f *floorRunner) dir(w int) string { return filepath.Join(f.root, strconv.Itoa(w)) }

// output is the file worker w's last job wrote its output to.
func (f *floorRunner) output(w int) string { return floorOutput(f.dir(w)) }

// floorOutput is the file a floor job in dir writes its output to.
func floorOutput(dir string) string { return filepath.Join(dir, "job.log") }

// floorJob is one job's own work in dir, as the agent does it; isolated
// runs the step as isolatedStep does.
func floorJob(ctx context.Context, mirror, dir string, n int, commit string, isolated bool) error {
	ws := filepath.Join(dir, "ws", strconv.Itoa(n))
	if _, err := gitOut(ctx, mirror, "worktree", "add", "--detach", "--force", "--quiet", ws, commit); err != nil {
		return err
	}
	out, err := os.OpenFile(floorOutput(dir), os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-e", "-c", tpStep)
	if isolated {
		if cmd, err = isolatedStep(ctx, ws); err != nil {
			out.Close()
			return err
		}
	}
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = ws, jobEnv(ws, commit), out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Run()
	out.Close()
	if err != nil {
		return fmt.Errorf("sh -e -c %q: %w", tpStep, err)
	}
	return removeWorktree(mirror, ws)
}

// floorJobUser is the user an isolated floor step runs as when the
// benchmark runs as root: the agents' default job user, nobody.
const floorJobUser = 65534

// isolatedStep is the floor's step run with the isolation the agents give
// it, built by hand: bwrap with the namespaces and mounts of the agents'
// sandbox (read-only root; private /tmp, /var/tmp, /dev/shm, /dev and
// /proc; its own PID and IPC namespaces and session; the workspace
// writable), down to the job user with setpriv as root (the workspace
// given to it first), the step's shell started by a shell as the sandbox's
// step runner starts it. No step runner protocol, no log spool, no agent.
func isolatedStep(ctx context.Context, ws string) (*exec.Cmd, error) {
	args := bwrapByHand(ws, "/tmp", "/var/tmp", "/dev/shm")
	if os.Geteuid() == 0 {
		if err := chownAll(ws, floorJobUser); err != nil {
			return nil, err
		}
		uid := strconv.Itoa(floorJobUser)
		args = append(args, "setpriv", "--reuid", uid, "--regid", uid, "--clear-groups",
			"--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--")
	}
	args = append(args, "/bin/sh", "-c", `/bin/sh -e -c "$1"`, "sh", tpStep)
	return exec.CommandContext(ctx, "bwrap", args...), nil
}

// chownAll gives dir and everything in it to uid (as its group too),
// links themselves and not what they point at.
func chownAll(dir string, uid int) error {
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, uid)
	})
}
