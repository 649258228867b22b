package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// rerunCmd re-runs a run as a new run linked to it: all of it, only its
// failed jobs (--failed), or one job (RUN JOB_NAME, or --job ID); with
// --failed and a job the jobs that need those re-run too, and the others
// keep their results.
func rerunCmd(env *Env) *cobra.Command {
	return env.leaf("rerun RUN [JOB_NAME] [--failed] | --job JOB", "re-run a run as a new run (--failed: only its failed jobs; a job: that job and those that need it)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		job := fs.Int64("job", 0, "re-run the finished job with this ID (and the jobs that need it) as a new run")
		failed := fs.Bool("failed", false, "re-run only the failed jobs of the run (and the jobs that need them) as a new run")
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			c := mk()
			if *failed && (*job > 0 || len(pos) != 1) {
				return badUsage
			}
			id, ok, code := jobTarget(ctx, env, c, *job, pos)
			if !ok {
				return code
			}
			path := fmt.Sprintf("/api/v1/runs/%d/rerun", id)
			switch {
			case *job > 0 || len(pos) == 2:
				path = fmt.Sprintf("/api/v1/jobs/%d/rerun", id)
			case *failed:
				path = fmt.Sprintf("/api/v1/runs/%d/rerun-failed", id)
			}
			var run lathe.Run
			if err := out.wrap(c.Do)(ctx, http.MethodPost, path, nil, &run); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				// The new run's ID (or the answer) alone on stdout; what a
				// person should know goes to stderr.
				printWaiting(env.Stderr, &run)
				return out.print(env, run)
			}
			switch {
			case *job > 0 || len(pos) == 2:
				fmt.Fprintf(env.Stdout, "run %d: %s #%d of %s, re-running job %d and the jobs that need it\n",
					run.ID, run.Pipeline, run.Number, run.Project, id)
			case *failed:
				fmt.Fprintf(env.Stdout, "run %d: %s #%d of %s, re-running the failed jobs of run %d\n",
					run.ID, run.Pipeline, run.Number, run.Project, id)
			default:
				fmt.Fprintf(env.Stdout, "run %d: %s #%d of %s at %.12s (%s), re-running run %d\n",
					run.ID, run.Pipeline, run.Number, run.Project, run.Commit, run.Ref, id)
			}
			printWaiting(env.Stdout, &run)
			return 0
		}
	})
}

// printWaiting names the jobs of a re-run's new run that wait at a gate
// again: a gate's decision does not carry over to a re-run.
func printWaiting(w io.Writer, run *lathe.Run) {
	for _, j := range run.Jobs {
		if j.Status == lathe.StatusWaiting {
			fmt.Fprintf(w, "job %d (%s) waits for approval again: a gate's decision does not carry over to a re-run\n", j.ID, j.Name)
		}
	}
}
