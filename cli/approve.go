package cli

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
)

// gateCmd is `lathe approve` or `lathe reject`: the decision (verb) on a
// job waiting at its approval gate, named by ID or by run and job name.
// `lathe approve --run RUN` approves the commit of an untrusted run (a
// fork's pull request) instead: the API has no counterpart to reject one
// (cancel the run).
func gateCmd(env *Env, verb, short, done string) *cobra.Command {
	use := verb + " JOB | RUN JOB_NAME"
	if verb == "approve" {
		use += " | --run RUN"
	}
	cmd := env.leaf(use, short, func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		var comment *string
		var run *int64
		if verb == "reject" {
			comment = fs.String("comment", "", "why: kept with the job and its deployment, and in the audit log")
		} else {
			run = fs.Int64("run", 0, "approve the commit of this untrusted run (a fork's pull request): its jobs leave the trust gate, still without secrets, and later runs of the commit start at once")
		}
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			c := mk()
			if run != nil && fs.Changed("run") {
				if len(pos) != 0 {
					return badUsage
				}
				if *run <= 0 {
					return fail(env, fmt.Errorf("%d is not a run ID", *run))
				}
				var r lathe.Run
				if err := out.wrap(c.Do)(ctx, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/approve", *run), nil, &r); err != nil {
					return fail(env, err)
				}
				if out.structured() {
					return out.print(env, r)
				}
				fmt.Fprintf(env.Stdout, "run %d: commit %.12s of %s approved; its jobs go on (untrusted: no secrets)\n", r.ID, r.Commit, field(r.Project))
				return 0
			}
			var id int64
			switch len(pos) {
			case 1:
				n, err := strconv.ParseInt(pos[0], 10, 64)
				if err != nil || n <= 0 {
					return fail(env, fmt.Errorf("%q is not a job ID", pos[0]))
				}
				id = n
			case 2:
				got, ok, code := jobTarget(ctx, env, c, 0, pos)
				if !ok {
					return code
				}
				id = got
			default:
				return badUsage
			}
			var in any
			if comment != nil && *comment != "" {
				in = map[string]string{"comment": *comment}
			}
			var j lathe.Job
			if err := out.wrap(c.Do)(ctx, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/%s", id, verb), in, &j); err != nil {
				if len(pos) == 1 {
					err = withRunHint(ctx, c, verb, id, err)
				}
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, j)
			}
			fmt.Fprintf(env.Stdout, "job %d (%s) %s\n", j.ID, field(j.Name), done)
			return 0
		}
	})
	if verb == "approve" {
		cmd.Long = "JOB is a job waiting at its approval gate (or RUN JOB_NAME names it).\n" +
			"--run RUN approves the commit of an untrusted run instead (a fork's pull request: every job waits\n" +
			"at the trust gate): its jobs go on, still without secrets, and later untrusted runs of that\n" +
			"commit start at once; a new commit needs a new approval. To refuse one, cancel the run."
	}
	return cmd
}

// withRunHint adds to the refusal of `lathe approve N` what N names when
// it is also a run with jobs at their approval gate: run and job IDs
// overlap, and the one number reads as a job's.
func withRunHint(ctx context.Context, c *client.Client, verb string, n int64, err error) error {
	if st := client.StatusOf(err); st != http.StatusConflict && st != http.StatusNotFound {
		return err
	}
	var run lathe.Run
	if c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", n), nil, &run) != nil {
		return err
	}
	var waiting []string
	for _, j := range run.Jobs {
		if j.Status == lathe.StatusWaiting {
			waiting = append(waiting, fmt.Sprintf("lathe %s %d %q", verb, n, j.Name))
		}
	}
	if len(waiting) == 0 {
		return err
	}
	return fmt.Errorf("%w\n%d is read as a job ID; run %d has jobs waiting for approval:\n  %s", err, n, n, strings.Join(waiting, "\n  "))
}
