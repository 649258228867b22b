package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// queryFlags sets each non-empty flag as a query parameter.
func queryFlags(q url.Values, flags map[string]*string) {
	for k, v := range flags {
		if *v != "" {
			q.Set(k, *v)
		}
	}
}

// testsCmd prints a run's test results: lathe tests RUN [--status failed,error] …
func testsCmd(env *Env) *cobra.Command {
	return answerCmd(env, "tests RUN", "show a run's test results: totals, new failures, fixes, instability (filters as flags)", 1, true,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			flags := map[string]*string{
				"status":          fs.String("status", "", "only these statuses (comma-separated: passed, failed, error, skipped)"),
				"change":          fs.String("change", "", "only these changes (comma-separated: new, fixed, same)"),
				"min_instability": fs.String("min-instability", "", "only tests at least this unstable (0-9)"),
				"max_instability": fs.String("max-instability", "", "only tests at most this unstable (0-9)"),
				"text":            fs.String("text", "", "only tests whose suite, name or message contains this"),
				"job":             fs.String("job", "", "only the tests of this job"),
				"flaky":           fs.String("flaky", "", "true: only flaky tests (failed, then passed on a retry within the job); false: only the others"),
				"before":          fs.String("before", "", "the page after this cursor"),
			}
			limit := fs.Int("limit", 50, "how many results")
			return runFiltered("tests", limit, flags)
		},
		func(env *Env, rt *lathe.RunTests, _ []string) {
			t := rt.Totals
			fmt.Fprintf(env.Stdout, "passed %d (flaky %d), failed %d, error %d, skipped %d; new failures %d, fixed %d\n",
				t.Passed, t.Flaky, t.Failed, t.Error, t.Skipped, t.NewFailures, t.Fixed)
			for _, w := range rt.Warnings {
				fmt.Fprintf(env.Stdout, "warning: job %s: %s\n", w.Job, w.Message)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CASE\tJOB\tSUITE\tNAME\tSTATUS\tCHANGE\tINSTABILITY\tMS")
			for _, r := range rt.Items {
				status := r.Status
				if r.Flaky {
					status += " (flaky)"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", r.ID, r.Job, field(r.Suite), r.Name, status, r.Change, r.Instability, r.DurationMS)
			}
			tw.Flush()
			printMore(env, rt.Next)
		})
}

// runGet is the request function of a command taking a run ID: a GET of
// the path path makes of it (no ID is a usage error; one that is not a
// run ID is said as such).
func runGet(path func(id int64) string) func(pos []string) (request, error) {
	return func(pos []string) (request, error) {
		id, err := runArg(pos)
		if err != nil {
			return request{}, err
		}
		return get(path(id)), nil
	}
}

// runFiltered is the request function of a run's filtered list: a GET of
// /api/v1/runs/RUN/WHAT with --limit and the flags given as its query.
func runFiltered(what string, limit *int, flags map[string]*string) func(pos []string) (request, error) {
	return runGet(func(id int64) string {
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		queryFlags(q, flags)
		return fmt.Sprintf("/api/v1/runs/%d/%s?%s", id, what, q.Encode())
	})
}

// issuesCmd prints a run's issues: lathe issues RUN [--new] [--severity error] …
func issuesCmd(env *Env) *cobra.Command {
	type issues struct {
		Items []*lathe.RunIssue `json:"items"`
		Next  *int64            `json:"next"`
		Total int               `json:"total"`
		New   int               `json:"new"`
	}
	return answerCmd(env, "issues RUN", "show a run's issues (SARIF or compiler findings), new ones marked +", 1, true,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			flags := map[string]*string{
				"severity": fs.String("severity", "", "only these severities (comma-separated: error, warning, note)"),
				"file":     fs.String("file", "", "only issues whose file contains this"),
				"message":  fs.String("message", "", "only issues whose message contains this"),
				"symbol":   fs.String("symbol", "", "only issues whose symbol contains this"),
				"job":      fs.String("job", "", "only the issues of this job"),
				"new":      fs.String("new", "", "true: only new issues; false: only old ones"),
				"before":   fs.String("before", "", "the page after this cursor"),
			}
			limit := fs.Int("limit", 50, "how many issues")
			return runFiltered("issues", limit, flags)
		},
		func(env *Env, ri *issues, _ []string) {
			fmt.Fprintf(env.Stdout, "%d issues, %d new\n", ri.Total, ri.New)
			for _, is := range ri.Items {
				mark := " "
				if is.New {
					mark = "+"
				}
				fmt.Fprintf(env.Stdout, "%s %s:%d:%d: %s: %s", mark, is.File, is.Line, is.Column, is.Severity, is.Message)
				if is.Symbol != "" {
					fmt.Fprintf(env.Stdout, " [%s]", is.Symbol)
				}
				fmt.Fprintf(env.Stdout, " (%s)\n", is.Job)
			}
		})
}

// buildsCmd searches finished jobs across runs (Zuul's builds).
func buildsCmd(env *Env) *cobra.Command {
	return answerCmd(env, "builds", "search finished jobs across runs by project, pipeline, job, branch, result, agent, duration, time", 0, true,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			flags := map[string]*string{}
			for _, f := range []string{"project", "pipeline", "job", "branch", "result", "agent", "since", "until", "before"} {
				flags[f] = fs.String(f, "", "only builds with this "+f)
			}
			flags["min_duration"] = fs.String("min-duration", "", "only builds that ran at least this many seconds")
			flags["max_duration"] = fs.String("max-duration", "", "only builds that ran at most this many seconds")
			limit := fs.Int("limit", 20, "how many builds")
			return func(pos []string) (request, error) {
				q := url.Values{"limit": {strconv.Itoa(*limit)}}
				queryFlags(q, flags)
				return get("/api/v1/builds?" + q.Encode()), nil
			}
		},
		func(env *Env, page *lathe.Page[*lathe.Build], _ []string) {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB ID\tPROJECT\tPIPELINE\tRUN\tJOB\tBRANCH\tRESULT\tAGENT\tDURATION")
			for _, b := range page.Items {
				d := "-"
				if b.DurationMS != nil {
					d = strconv.FormatInt(*b.DurationMS, 10) + "ms"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.Project, b.Pipeline, b.RunNumber, b.Job, field(b.Branch), b.Result, field(b.Agent), d)
			}
			tw.Flush()
		})
}

// statsCmd prints a project's run statistics (and a job's build times with --job).
func statsCmd(env *Env) *cobra.Command {
	return env.leaf("stats PROJECT", "show a project's run counts and durations (--job: that job's build times and percentiles)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		pipeline := fs.String("pipeline", "", "only runs of this pipeline")
		branch := fs.String("branch", "", "only runs of this branch")
		job := fs.String("job", "", "also print the build times of this job")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			q := url.Values{}
			queryFlags(q, map[string]*string{"pipeline": pipeline, "branch": branch})
			base := "/api/v1/projects/" + url.PathEscape(pos[0])
			var st lathe.RunStats
			c := mk()
			if err := c.Do(ctx, http.MethodGet, base+"/stats?"+q.Encode(), nil, &st); err != nil {
				return fail(env, err)
			}
			var bt *lathe.BuildTimes
			if *job != "" {
				q.Set("job", *job)
				bt = &lathe.BuildTimes{}
				if err := c.Do(ctx, http.MethodGet, base+"/build-times?"+q.Encode(), nil, bt); err != nil {
					return fail(env, err)
				}
			}
			if out.structured() {
				return out.print(env, map[string]any{"stats": st, "build_times": bt})
			}
			ms := func(v *int64) string {
				if v == nil {
					return "-"
				}
				return strconv.FormatInt(*v, 10) + "ms"
			}
			fmt.Fprintf(env.Stdout, "runs: %d in all, %d in the last week, %d in the last month\n", st.Total, st.LastWeek, st.LastMonth)
			fmt.Fprintf(env.Stdout, "mean duration: %s (last week %s, last month %s)\n", ms(st.AvgDurationMS), ms(st.AvgDurationLastWeekMS), ms(st.AvgDurationLastMonthMS))
			if bt != nil {
				fmt.Fprintf(env.Stdout, "job %s: %d builds, p50 %s, p90 %s, p95 %s, p99 %s, max %s\n", *job, bt.Count, ms(bt.P50MS), ms(bt.P90MS), ms(bt.P95MS), ms(bt.P99MS), ms(bt.MaxMS))
			}
			return 0
		}
	})
}

// stageCmd drives an external stage or deletes a finished run's stage.
func stageCmd(env *Env) *cobra.Command {
	path := func(pos []string) string { return "/api/v1/stages/" + url.PathEscape(pos[0]) }
	printStage := func(env *Env, st *lathe.Stage, _ []string) {
		fmt.Fprintf(env.Stdout, "stage %d (%s) of run %d: %s\n", st.ID, st.Name, st.RunID, st.Status)
	}
	set := answerCmd(env, "set STAGE running|success|failed", "set the status of a stage declared external: true", 2, false,
		noFlags(func(pos []string) request {
			return request{method: http.MethodPatch, path: path(pos), body: map[string]string{"status": pos[1]}}
		}), printStage)
	del := answerCmd(env, "delete STAGE", "delete a finished run's stage, with its jobs' logs", 1, false,
		noFlags(func(pos []string) request { return request{method: http.MethodDelete, path: path(pos)} }), printStage)
	show := answerCmd(env, "get STAGE", "show a stage and its status", 1, false,
		noFlags(func(pos []string) request { return get(path(pos)) }), printStage)
	type stages items[*lathe.Stage]
	list := answerCmd(env, "list RUN", "list a run's stages with their IDs and statuses", 1, true,
		func(*pflag.FlagSet) func(pos []string) (request, error) {
			return runGet(func(id int64) string { return fmt.Sprintf("/api/v1/runs/%d/stages", id) })
		},
		func(env *Env, list *stages, _ []string) {
			paint := newPainter(env)
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "ID\tSTAGE\t%s\tEXTERNAL\n", paint.header("STATUS"))
			for _, st := range list.Items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%t\n", st.ID, field(st.Name), paint.status(string(st.Status)), st.External)
			}
			tw.Flush()
		})
	return group("stage", "list a run's stages, show one, set an external stage's status (set STAGE STATUS) or delete a finished run's stage", "", list, show, set, del)
}
