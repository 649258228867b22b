package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/pipeline"
)

// Event is the LATHE_EVENT of a local run.
const Event = "exec"

// Options say what to run and how.
type Options struct {
	// Dir holds the pipeline files, and the steps run in it; "" is the
	// working directory.
	Dir string
	// Pipeline names the pipeline; "" picks the only one.
	Pipeline string
	// Job, when set, runs only that job (all its matrix expansions, when
	// it is named as in the file) and the jobs it waits for.
	Job string
	// Params are the run's parameters, as `--param K=V` gives them; the
	// pipeline's defaults fill the rest.
	Params map[string]string
	// Event is the kind of event `when` conditions see (push, tag, …);
	// "" takes it from the repository as RepoEvent does: a push to the
	// branch checked out, so that exec runs the jobs a server would run
	// for the same push. Changed paths are unknown, so path conditions
	// hold. LATHE_EVENT is "exec" whatever the conditions saw.
	Event string
	// Env is added to every job's environment, overriding the pipeline's
	// and the job's own.
	Env []lathe.EnvVar
	// Approve answers every approval gate; without it, a gated job is
	// skipped with a notice, and so are the jobs that need it.
	Approve bool
	// Parallel is how many jobs may run at once; less than 1 means 1.
	Parallel int
	// SharedWorkspace runs every job's steps in Dir itself, one after
	// another's files, instead of in a workspace of its own (see source).
	SharedWorkspace bool
	// Executor chooses how steps run, as on an agent (executor.New):
	// Kind "" is the bubblewrap sandbox agents use by default, or the
	// shell executor (the user's own processes) with SharedWorkspace.
	// Its Grace is replaced by Grace.
	Executor executor.Options
	// Grace is how long a canceled step has between SIGTERM and SIGKILL;
	// 0 is the executor's default.
	Grace time.Duration
	// Out receives the jobs' output, one prefixed line at a time, and the
	// summary.
	Out io.Writer
	// Color turns on ANSI colors.
	Color bool
}

// Result is how a run ended.
type Result struct {
	Pipeline string
	// Status is the engine's rollup of the statuses of the jobs that were
	// planned.
	Status   lathe.Status
	Duration time.Duration
	// Jobs are the planned jobs in plan order, then the jobs the plan left
	// out (as skipped).
	Jobs []JobResult
}

// JobResult is how one job ended.
type JobResult struct {
	Name   string
	Stage  string
	Status lathe.Status
	// Duration is zero for a job that never started.
	Duration time.Duration
	// Reason says why a job did not succeed or did not run: "exit status 1
	// in step 2/3: tests", "needs build (failed)".
	Reason string
}

// Run runs a pipeline from opts.Dir to its end and returns how it went. An
// error means no step ran: no pipeline file, an invalid one (the error is
// then a pipeline.ErrorList with every problem), bad parameters (a
// pipeline.ParamErrors), an unknown pipeline or job, or no snapshot of the
// directory to check out (the jobs, started meanwhile, say so too). When ctx ends the
// run is canceled: running steps are stopped and jobs not yet started are
// canceled; Run still returns the Result.
func Run(ctx context.Context, opts Options) (*Result, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	pl, err := Load(dir, opts.Pipeline)
	if err != nil {
		return nil, err
	}
	rp := readRepo(ctx, dir)
	ev := rp.event(opts.Event)
	plan, err := pl.Plan(pipeline.PlanInput{Event: ev, Params: opts.Params})
	if err != nil {
		return nil, err
	}
	jobs, left := plan.Jobs, plan.Skipped
	if opts.Job != "" {
		if jobs, err = narrow(pl, plan, opts.Job); err != nil {
			return nil, err
		}
		left = nil
	}
	ex, err := newExecutor(opts)
	if err != nil {
		return nil, err
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	r := &run{opts: opts, dir: dir, pl: pl, jobs: jobs, repo: rp, ex: ex, con: &console{w: out, color: opts.Color},
		store: &store{base: filepath.Join(dir, filepath.FromSlash(execDir))}}
	if !opts.SharedWorkspace {
		// The jobs start while the source is taken; their checkouts wait
		// for it (see startSource).
		r.src = startSource(ctx, dir, rp)
		defer func() {
			if s, err := r.src.get(); err == nil {
				s.prune(ctx)
			}
		}()
	}
	for _, j := range jobs {
		r.con.width = max(r.con.width, len(j.Name))
	}
	for _, s := range left {
		r.con.width = max(r.con.width, len(s.Job))
	}
	if note := IdleNote(pl, ev); note != "" {
		r.con.printf("%s", r.con.paint(yellow, "note: "+note+"; running it as asked"))
	}
	for k, s := range left {
		r.con.printf("%s%s", r.con.prefix(s.Job, len(jobs)+k), r.con.paint(yellow, "left out: "+s.Reason))
	}
	start := time.Now()
	r.schedule(ctx)
	var src *source
	if r.src != nil {
		// Without a source no job ran a step: each failed to check it out.
		// Unless the run was canceled meanwhile, that is Run's error.
		if src, err = r.src.get(); err != nil && ctx.Err() == nil {
			return nil, err
		}
	}
	res := &Result{Pipeline: pl.Name, Status: r.status(), Duration: time.Since(start), Jobs: r.results}
	for _, s := range left {
		res.Jobs = append(res.Jobs, JobResult{Name: s.Job, Status: lathe.StatusSkipped, Reason: s.Reason})
	}
	r.con.summary(res)
	where := "every job ran in " + dir + " (--shared-workspace)"
	if src != nil {
		where = src.describe(rp)
	}
	r.con.printf("%s", r.con.paint(dim, where+"; "+isolation(ex)))
	if d := r.store.made(); d != "" {
		r.con.printf("uploads and artifacts: %s", r.rel(d))
	}
	return res, nil
}

// newExecutor is the executor opts ask for. The sandbox as root hands
// the workspace to the job user, which it must not do to the user's own
// directory.
func newExecutor(opts Options) (executor.Executor, error) {
	eo := opts.Executor
	eo.Grace = opts.Grace
	if eo.Kind == "" {
		eo.Kind = executor.KindSandbox
		if opts.SharedWorkspace {
			eo.Kind = executor.KindShell
		}
	}
	if eo.Kind == executor.KindSandbox && opts.SharedWorkspace && os.Geteuid() == 0 {
		return nil, errors.New("the sandbox, run as root, would give the shared directory to the job user; " +
			"leave out --shared-workspace, or choose --executor shell")
	}
	return executor.New(eo)
}

// isolation says how steps run, for the run's first line.
func isolation(ex executor.Executor) string {
	if ex.Isolation() == executor.IsolationNone {
		return "steps ran as you (--executor shell)"
	}
	return "steps ran in a " + ex.Isolation() + ", as on an agent"
}

// rel is path p as the user gave the directory: relative to the working
// directory when it lies below it.
func (r *run) rel(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}

// narrow keeps the planned jobs called name (by expanded name, or by file
// name for every expansion of a matrix job) and every job they wait for,
// directly or not, in plan order.
// IdleNote says, when pl's on: does not take ev, that a server would start
// no run of pl for it; "" when it would. exec and plan run or plan the
// pipeline they are asked for either way.
func IdleNote(pl *pipeline.Pipeline, ev pipeline.Event) string {
	if pl.Triggers.Matches(ev) {
		return ""
	}
	return fmt.Sprintf("on a server, this %s starts no run of pipeline %s: its on: does not take it (--event chooses another event)", ev.Kind, pl.Name)
}

func narrow(pl *pipeline.Pipeline, plan *pipeline.Plan, name string) ([]*pipeline.Job, error) {
	byName := make(map[string]*pipeline.Job, len(plan.Jobs))
	keep := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if keep[n] || byName[n] == nil {
			return
		}
		keep[n] = true
		for _, d := range byName[n].Deps {
			visit(d)
		}
	}
	for _, j := range plan.Jobs {
		byName[j.Name] = j
	}
	for _, j := range plan.Jobs {
		if j.Name == name || j.Base == name {
			visit(j.Name)
		}
	}
	if len(keep) == 0 {
		for _, s := range plan.Skipped {
			if s.Job == name || strings.HasPrefix(s.Job, name+" (") {
				return nil, fmt.Errorf("job %q is left out of this run: %s", s.Job, s.Reason)
			}
		}
		var names []string
		for _, j := range pl.Jobs {
			names = append(names, j.Name)
		}
		return nil, fmt.Errorf("no job %q in pipeline %s; its jobs are %s", name, pl.Name, strings.Join(names, ", "))
	}
	var out []*pipeline.Job
	for _, j := range plan.Jobs {
		if keep[j.Name] {
			out = append(out, j)
		}
	}
	return out, nil
}
