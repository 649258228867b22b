package cli

import (
	"context"
	"fmt"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
)

// cmdRerun re-runs a run as a new run linked to it: all of it, only its
// failed jobs (--failed), or one job (--job); with --failed and --job the
// jobs that need those re-run too, and the others keep their results.
func cmdRerun(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "rerun", "RUN [--failed] | --job JOB")
	mk := clientFlags(fs, env)
	job := fs.Int64("job", 0, "re-run this finished job (and the jobs that need it) as a new run")
	failed := fs.Bool("failed", false, "re-run only the failed jobs of the run (and the jobs that need them) as a new run")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	c := mk()
	switch {
	case *job > 0 && len(pos) == 0 && !*failed:
		var run lathe.Run
		if err := c.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/rerun", *job), nil, &run); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "run %d: %s #%d of %s, re-running job %d and the jobs that need it\n",
			run.ID, run.Pipeline, run.Number, run.Project, *job)
		printWaiting(env, &run)
		return 0
	case *job == 0 && len(pos) == 1:
		id, err := runArg(pos)
		if err != nil {
			fs.Usage()
			return 2
		}
		var run lathe.Run
		if *failed {
			if err := c.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun-failed", id), nil, &run); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "run %d: %s #%d of %s, re-running the failed jobs of run %d\n",
				run.ID, run.Pipeline, run.Number, run.Project, id)
			printWaiting(env, &run)
			return 0
		}
		if err := c.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun", id), nil, &run); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "run %d: %s #%d of %s at %.12s (%s), re-running run %d\n",
			run.ID, run.Pipeline, run.Number, run.Project, run.Commit, run.Ref, id)
		return 0
	}
	fs.Usage()
	return 2
}

// printWaiting names the jobs of a re-run's new run that wait at a gate
// again: a gate's decision does not carry over to a re-run.
func printWaiting(env *Env, run *lathe.Run) {
	for _, j := range run.Jobs {
		if j.Status == lathe.StatusWaiting {
			fmt.Fprintf(env.Stdout, "job %d (%s) waits for approval again: a gate's decision does not carry over to a re-run\n", j.ID, j.Name)
		}
	}
}
