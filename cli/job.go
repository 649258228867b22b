package cli

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// jobCmd is `lathe job JOB`: one job with its attempts and their steps.
func jobCmd(env *Env) *cobra.Command {
	return env.leaf("job JOB", "show a job: its settings, why it waits, and each attempt with its agent, end reason and steps", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			id, err := strconv.ParseInt(pos[0], 10, 64)
			if err != nil || id <= 0 {
				return fail(env, fmt.Errorf("%q is not a job ID (lathe status RUN lists them)", pos[0]))
			}
			c := mk()
			var j lathe.Job
			if err := out.wrap(c.Do)(ctx, http.MethodGet, "/api/v1/jobs/"+pos[0], nil, &j); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, j)
			}
			var run lathe.Run
			if err := c.Do(ctx, http.MethodGet, "/api/v1/runs/"+strconv.FormatInt(j.RunID, 10), nil, &run); err != nil {
				return fail(env, err)
			}
			printJob(env, &run, &j)
			return 0
		}
	})
}

// printJob prints a job of run and its attempts.
func printJob(env *Env, run *lathe.Run, j *lathe.Job) {
	paint := newPainter(env)
	fmt.Fprintf(env.Stdout, "job %d: %s of run %d (%s #%d of %s), stage %s — %s in %s\n", j.ID, field(j.Name), run.ID,
		field(run.Pipeline), run.Number, field(run.Project), field(j.Stage), paint.status(string(j.Status)), duration(j.Timing))
	if why := waitReason(run, j); why != "" {
		fmt.Fprintf(env.Stdout, "waiting: %s\n", printable(why, ""))
	}
	fmt.Fprintf(env.Stdout, "needs: %s; runs on: %s; timeout %ds", orNone(j.Deps), orNone(j.RunsOn), j.TimeoutSec)
	if j.AllowFailure {
		fmt.Fprint(env.Stdout, "; allowed to fail")
	}
	if j.Environment != "" {
		fmt.Fprintf(env.Stdout, "; deploys to %s", field(j.Environment))
	}
	if j.Concurrency != nil {
		fmt.Fprintf(env.Stdout, "; holds %s", field(j.Concurrency.Group))
	}
	if j.CarriedFrom != nil {
		fmt.Fprintf(env.Stdout, "; carried over from job %d", *j.CarriedFrom)
	}
	fmt.Fprintln(env.Stdout)
	if g := j.Approval; g != nil {
		fmt.Fprintf(env.Stdout, "gate: %s", field(g.Message))
		if len(g.From) > 0 {
			fmt.Fprintf(env.Stdout, "; approvers: %s", fields(g.From))
		}
		if g.NotBy != "" {
			fmt.Fprintf(env.Stdout, "; not by %s", field(g.NotBy))
		}
		if answer := gateAnswer(g); answer != "" {
			fmt.Fprintf(env.Stdout, "; %s", answer)
		}
		if g.Comment != "" {
			fmt.Fprintf(env.Stdout, "; comment: %s", printable(g.Comment, ""))
		}
		fmt.Fprintln(env.Stdout)
	}
	if len(j.Attempts) == 0 {
		fmt.Fprintln(env.Stdout, "no attempt yet")
		return
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ATTEMPT\tAGENT\t%s\tEND REASON\tLOG\tSTEPS\n", paint.header("STATUS"))
	for _, at := range j.Attempts {
		steps := ""
		for i, s := range at.Steps {
			if i > 0 {
				steps += ", "
			}
			steps += field(s.Name) + " " + string(s.Status)
			if s.ExitCode != nil && *s.ExitCode != 0 {
				steps += fmt.Sprintf(" (exit %d)", *s.ExitCode)
			}
		}
		end := ""
		if at.Status.Terminal() && at.Status != lathe.StatusSuccess {
			end = attemptEnd(j, at)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d bytes\t%s\n", at.Number, field(at.Agent), paint.status(string(at.Status)), field(end), at.LogSize, steps)
	}
	tw.Flush()
}
