package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

func cmdRun(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "run", "PROJECT")
	mk := clientFlags(fs, env)
	ref := fs.String("ref", "", "branch, tag or commit to build (default: the project's default branch)")
	pipeline := fs.String("pipeline", "", "pipeline name (needed when the commit defines several)")
	follow := fs.Bool("follow", false, "stream the logs until the run ends; exit 0 only if it succeeds")
	pr := fs.Int64("pr", 0, "build pull request `N`'s head (refs/pull/N/head) with event pull_request, instead of --ref")
	var params keyValues
	fs.Var(&params, "param", "`K=V`: a parameter of the run (repeatable)")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
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
		return runAll(ctx, c, path, in, *follow, env)
	}
	if err := c.Do(ctx, http.MethodPost, path, in, &run); err != nil {
		return fail(env, err)
	}
	printStarted(env, &run)
	if !*follow {
		return 0
	}
	return exitFor(followRun(ctx, c, run.ID, env.Stdout))
}

func printStarted(env *Env, run *lathe.Run) {
	fmt.Fprintf(env.Stdout, "run %d: %s #%d of %s at %.12s (%s)\n", run.ID, field(run.Pipeline), run.Number, run.Project, run.Commit, field(run.Ref))
}

func cmdLogs(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "logs", "RUN")
	mk := clientFlags(fs, env)
	follow := fs.Bool("f", false, "follow: stream the logs live until the run ends")
	timestamps := fs.Bool("timestamps", false, "start each line with the time it reached the server (not with -f)")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	id, err := runArg(pos)
	if err != nil {
		fs.Usage()
		return 2
	}
	c := mk()
	if *follow {
		return exitFor(followRun(ctx, c, id, env.Stdout))
	}
	query := ""
	if *timestamps {
		query = "?timestamps=true"
	}
	if err := printLogs(ctx, c, id, env.Stdout, query); err != nil {
		return fail(env, err)
	}
	return 0
}

func runArg(pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, fmt.Errorf("want one run ID")
	}
	return strconv.ParseInt(pos[0], 10, 64)
}

func cmdRuns(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "runs", "")
	mk := clientFlags(fs, env)
	q := url.Values{}
	filters := map[string]*string{}
	for _, f := range []string{"project", "pipeline", "branch", "status", "before"} {
		filters[f] = fs.String(f, "", "only runs with this "+f)
	}
	limit := fs.Int("limit", 20, "how many runs")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, code, ok := parse(fs, args); !ok {
		return code
	}
	for k, v := range filters {
		if *v != "" {
			q.Set(k, *v)
		}
	}
	q.Set("limit", strconv.Itoa(*limit))
	var page lathe.Page[*lathe.Run]
	if err := mk().Do(ctx, http.MethodGet, "/api/v1/runs?"+q.Encode(), nil, &page); err != nil {
		return fail(env, err)
	}
	if *asJSON {
		return printJSON(env, page)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROJECT\tPIPELINE\t#\tREF\tCOMMIT\tSTATUS\tDURATION")
	for _, r := range page.Items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%.12s\t%s\t%s\n", r.ID, r.Project, field(r.Pipeline), r.Number, field(r.Ref), r.Commit, r.Status, duration(r.Timing))
	}
	tw.Flush()
	return 0
}

func cmdStatus(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "status", "RUN")
	mk := clientFlags(fs, env)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	id, err := runArg(pos)
	if err != nil {
		fs.Usage()
		return 2
	}
	var run lathe.Run
	if err := mk().Do(ctx, http.MethodGet, "/api/v1/runs/"+strconv.FormatInt(id, 10), nil, &run); err != nil {
		return fail(env, err)
	}
	if *asJSON {
		return printJSON(env, run)
	}
	printSummary(env.Stdout, &run)
	return 0
}

func cmdCancel(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "cancel", "RUN | --job JOB")
	mk := clientFlags(fs, env)
	job := fs.Int64("job", 0, "cancel this job instead of a whole run")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	path := ""
	switch {
	case *job > 0 && len(pos) == 0:
		path = fmt.Sprintf("/api/v1/jobs/%d/cancel", *job)
	case *job == 0 && len(pos) == 1:
		id, err := runArg(pos)
		if err != nil {
			fs.Usage()
			return 2
		}
		path = fmt.Sprintf("/api/v1/runs/%d/cancel", id)
	default:
		fs.Usage()
		return 2
	}
	if err := mk().Do(ctx, http.MethodPost, path, nil, nil); err != nil {
		return fail(env, err)
	}
	fmt.Fprintln(env.Stdout, "cancel requested")
	return 0
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
