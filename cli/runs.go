package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
)

func runCmd(env *Env) *cobra.Command {
	return env.leaf("run PROJECT", "trigger a run of a project's pipeline (--follow to watch it)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		ref := fs.String("ref", "", "branch, tag or commit to build (default: the project's default branch)")
		pipeline := fs.String("pipeline", "", "pipeline name (needed when the commit defines several)")
		follow := fs.BoolP("follow", "f", false, "stream the logs until the run ends; exit 0 only if it succeeds (Ctrl-C detaches)")
		pr := fs.Int64("pr", 0, "build pull request `N`'s head (refs/pull/N/head) with event pull_request, instead of --ref")
		var params keyValues
		fs.Var(&params, "param", "`K=V`: a parameter of the run (repeatable)")
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) == 2 && *pipeline == "" {
				fmt.Fprintf(env.Stderr, "lathe: run takes one PROJECT; a pipeline is named with --pipeline: lathe run %s --pipeline %s\n",
					shellQuote(pos[0]), shellQuote(pos[1]))
				return 2
			}
			if len(pos) != 1 {
				return badUsage
			}
			c := mk()
			var run lathe.Run
			in := map[string]any{"ref": *ref, "pipeline": *pipeline}
			if *pr != 0 {
				in["pull_request"] = *pr
			}
			if len(params.vars) > 0 {
				given := map[string]string{}
				for _, p := range params.vars {
					given[p.Name] = p.Value
				}
				in["params"] = given
			}
			path := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/runs"
			if *pipeline == "" {
				// Every pipeline the request selects starts (see runAll).
				return runAll(ctx, c, path, in, *follow, out, env)
			}
			if err := out.wrap(c.Do)(ctx, http.MethodPost, path, in, &run); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				if code := out.print(env, run); code != 0 || !*follow {
					return code
				}
			} else {
				printStarted(env, &run)
			}
			if !*follow {
				return 0
			}
			return followInteractive(ctx, c, run.ID, env, logQuery{step: -1})
		}
	})
}

// printStarted prints one line for a run a trigger started.
func printStarted(env *Env, run *lathe.Run) {
	fmt.Fprintf(env.Stdout, "run %d: %s #%d of %s at %.12s (%s)\n", run.ID, field(run.Pipeline), run.Number, run.Project, run.Commit, field(run.Ref))
}

func runArg(pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, errUsage
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not a run ID (lathe runs lists them)", pos[0])
	}
	return id, nil
}

// argFail ends a command whose arguments err refused: with its usage for
// errUsage, else saying err (exit 1).
func argFail(env *Env, err error) int {
	if errors.Is(err, errUsage) {
		return badUsage
	}
	return fail(env, err)
}

func runsCmd(env *Env) *cobra.Command {
	return env.leaf("runs", "list runs", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		filters := map[string]*string{}
		for _, f := range []string{"project", "pipeline", "branch", "status", "event"} {
			filters[f] = fs.String(f, "", "only runs with this "+f)
		}
		filters["before"] = fs.String("before", "", "only runs older than run `ID` (the next page: the last ID listed)")
		filters["pull_request"] = fs.String("pr", "", "only runs of pull request `N`, or with none, of no pull request (a branch's own runs)")
		limit := fs.Int("limit", 20, "how many runs")
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			q := url.Values{"limit": {strconv.Itoa(*limit)}}
			queryFlags(q, filters)
			var page lathe.Page[*lathe.Run]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/runs?"+q.Encode(), nil, &page); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, page)
			}
			paint := newPainter(env)
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "ID\tPROJECT\tPIPELINE\t#\tREF\tCOMMIT\t%s\tDURATION\n", paint.header("STATUS"))
			for _, r := range page.Items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%.12s\t%s\t%s\n", r.ID, r.Project, field(r.Pipeline), r.Number, field(r.Ref), r.Commit, paint.status(string(r.Status)), duration(r.Timing))
			}
			tw.Flush()
			return 0
		}
	})
}

func statusCmd(env *Env) *cobra.Command {
	return env.leaf("status RUN", "show a run with its stages and jobs (job IDs, and why waiting jobs wait)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			id, err := runArg(pos)
			if err != nil {
				return argFail(env, err)
			}
			var run lathe.Run
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/runs/"+strconv.FormatInt(id, 10), nil, &run); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, run)
			}
			printSummary(env.Stdout, &run, newPainter(env))
			return 0
		}
	})
}

func cancelCmd(env *Env) *cobra.Command {
	return env.leaf("cancel RUN [JOB_NAME] | --job JOB", "cancel a run, or one of its jobs (by name, or by ID with --job)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		job := fs.Int64("job", 0, "cancel the job with this ID instead of a whole run")
		return func(ctx context.Context, pos []string) int {
			c := mk()
			id, ok, code := jobTarget(ctx, env, c, *job, pos)
			if !ok {
				return code
			}
			path := fmt.Sprintf("/api/v1/runs/%d/cancel", id)
			if *job > 0 || len(pos) == 2 {
				path = fmt.Sprintf("/api/v1/jobs/%d/cancel", id)
			}
			if err := c.Do(ctx, http.MethodPost, path, nil, nil); err != nil {
				return fail(env, err)
			}
			fmt.Fprintln(env.Stdout, "cancel requested")
			return 0
		}
	})
}

// jobTarget reads the target of a command taking RUN, RUN JOB_NAME or
// --job ID: for RUN it returns the run's ID, otherwise the job's. ok is
// false (with the exit code) when the arguments do not fit or the job is
// not found.
func jobTarget(ctx context.Context, env *Env, c *client.Client, job int64, pos []string) (id int64, ok bool, code int) {
	switch {
	case job > 0 && len(pos) == 0:
		return job, true, 0
	case job == 0 && (len(pos) == 1 || len(pos) == 2):
		run, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil || run <= 0 {
			return 0, false, fail(env, fmt.Errorf("%q is not a run ID", pos[0]))
		}
		if len(pos) == 1 {
			return run, true, 0
		}
		j, err := jobByName(ctx, c, run, pos[1])
		if err != nil {
			return 0, false, fail(env, err)
		}
		return j.ID, true, 0
	}
	return 0, false, badUsage
}

// jobByName finds the job of a run by its name (a matrix job's full name,
// "test (go: 1.22)", or its base name when only one job has it).
func jobByName(ctx context.Context, c *client.Client, runID int64, name string) (*lathe.Job, error) {
	var run lathe.Run
	if err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", runID), nil, &run); err != nil {
		return nil, err
	}
	var found []*lathe.Job
	var names []string
	for _, j := range run.Jobs {
		names = append(names, j.Name)
		if j.Name == name {
			return j, nil
		}
		if base, _, ok := strings.Cut(j.Name, " ("); ok && base == name {
			found = append(found, j)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("run %d has no job %q; its jobs: %s", runID, name, strings.Join(names, ", "))
	}
	var full []string
	for _, j := range found {
		full = append(full, fmt.Sprintf("%q (job %d)", j.Name, j.ID))
	}
	return nil, fmt.Errorf("run %d has several jobs %q: name one of %s", runID, name, strings.Join(full, ", "))
}

func duration(t lathe.Timing) string {
	if t.DurationMS == nil {
		if t.StartedAt != nil {
			return time.Since(*t.StartedAt).Round(time.Second).String() + "…"
		}
		return "-"
	}
	return (time.Duration(*t.DurationMS) * time.Millisecond).String()
}
