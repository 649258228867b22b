package local

import (
	"context"
	"fmt"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/pipeline"
)

// run is one local run in progress. Only the goroutine in schedule reads or
// writes its nodes and results; job goroutines report back on a channel.
type run struct {
	opts Options
	dir  string
	pl   *pipeline.Pipeline
	jobs []*pipeline.Job
	repo repo
	con  *console
	// ex runs the steps; src is what each job's workspace starts as (nil
	// in a shared workspace).
	ex  executor.Executor
	src *pendingSource
	// store keeps uploads and artifacts; uploads says whose they are.
	store   *store
	uploads uploads

	// nodes[i] and results[i] are jobs[i] as the engine and the summary see
	// it; a node's ID is its index.
	nodes   []engine.Node
	results []JobResult
}

// finished is a job goroutine's report.
type finished struct {
	i        int
	status   lathe.Status
	reason   string
	duration time.Duration
}

// schedule runs the jobs to the end. The engine decides what becomes ready,
// skipped or canceled; schedule only starts ready jobs, at most
// opts.Parallel at a time, in plan order. When ctx ends it stops starting
// jobs, lets the engine cancel the rest, and waits for the running ones,
// whose steps see the same ctx and are stopped by the executor.
func (r *run) schedule(ctx context.Context) {
	r.nodes = make([]engine.Node, len(r.jobs))
	r.results = make([]JobResult, len(r.jobs))
	for i, j := range r.jobs {
		r.nodes[i] = engine.Node{ID: int64(i), Name: j.Name, Status: lathe.StatusPending, Deps: localDeps(j.Deps), AllowFailure: j.AllowFailure}
		r.results[i] = JobResult{Name: j.Name, Stage: j.Stage, Status: lathe.StatusPending}
	}
	parallel := max(r.opts.Parallel, 1)
	done := make(chan finished, len(r.jobs))
	interrupted, canceled := ctx.Done(), false
	running := 0
	for {
		r.advance(canceled)
		for i := range r.nodes {
			if running < parallel && r.nodes[i].Status == lathe.StatusQueued {
				r.set(i, lathe.StatusRunning, "")
				running++
				go func() {
					start := time.Now()
					st, reason := r.runJob(ctx, i)
					done <- finished{i: i, status: st, reason: reason, duration: time.Since(start)}
				}()
			}
		}
		if running == 0 {
			return
		}
		select {
		case f := <-done:
			running--
			r.finish(f)
		case <-interrupted:
			canceled, interrupted = true, nil
		}
	}
}

// advance applies the engine's changes until there are none, printing why
// a job will not run. A job that becomes ready behind an approval gate is
// skipped here unless the run answers approvals, and the next pass of the
// engine skips its dependents.
func (r *run) advance(canceled bool) {
	for {
		changes := engine.Advance(r.nodes, canceled)
		if len(changes) == 0 {
			return
		}
		for i := range r.nodes {
			st, ok := changes[int64(i)]
			if !ok {
				continue
			}
			switch st {
			case lathe.StatusSkipped:
				reason := r.brokenDeps(i)
				r.set(i, st, reason)
				r.con.printf("%s%s", r.prefix(i), r.con.paint(yellow, "skipped: "+reason))
			case lathe.StatusQueued:
				r.set(i, st, "")
				if a := r.jobs[i].Approval; a != nil {
					r.gate(i, a)
				}
			default:
				r.set(i, st, "")
			}
		}
	}
}

// gate answers the approval of a ready job: approved with --approve,
// otherwise skipped with a notice saying how to run it. There is no one to
// ask on this machine, and waiting would hang the terminal.
func (r *run) gate(i int, a *pipeline.Approval) {
	who := strings.Join(a.From, ", ")
	if who == "" {
		who = "anyone who may write to the project"
	}
	if r.opts.Approve {
		r.con.printf("%sapproval required from %s: approved (--approve)", r.prefix(i), who)
		return
	}
	reason := "approval required from " + who
	r.con.printf("%s%s", r.prefix(i), r.con.paint(yellow, reason+": skipped (use --approve)"))
	r.set(i, lathe.StatusSkipped, reason)
}

// brokenDeps names the finished dependencies of job i that did not succeed.
func (r *run) brokenDeps(i int) string {
	var broken []string
	for _, d := range r.nodes[i].Deps {
		for k := range r.nodes {
			if n := r.nodes[k]; n.Name == d && n.Status.Terminal() && n.Status != lathe.StatusSuccess {
				broken = append(broken, fmt.Sprintf("%s (%s)", d, n.Status))
			}
		}
	}
	return "needs " + strings.Join(broken, ", ")
}

// finish records how a job ended. A job allowed to fail that failed keeps
// its status; the engine counts it as a success (engine.Node.Outcome).
func (r *run) finish(f finished) {
	r.set(f.i, f.status, f.reason)
	r.results[f.i].Duration = f.duration
	if n := r.nodes[f.i]; n.Outcome() != n.Status {
		r.results[f.i].Reason += " (failure allowed)"
	}
}

// set records job i's status, and why when it did not succeed.
func (r *run) set(i int, st lathe.Status, reason string) {
	r.nodes[i].Status = st
	r.results[i].Status = st
	r.results[i].Reason = reason
}

// status is the run's status by the engine's rollup.
func (r *run) status() lathe.Status {
	statuses := make([]lathe.Status, len(r.nodes))
	for i, n := range r.nodes {
		statuses[i] = n.Outcome()
	}
	return engine.Rollup(statuses)
}

func (r *run) prefix(i int) string { return r.con.prefix(r.jobs[i].Name, i) }

// localDeps leaves out the external stages a job waits for: no outside
// tool drives them here, so `lathe exec` takes them as passed.
func localDeps(deps []string) []string {
	out := make([]string, 0, len(deps))
	for _, d := range deps {
		if !strings.HasPrefix(d, lathe.ExternalStagePrefix) {
			out = append(out, d)
		}
	}
	return out
}
