package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/local"
	"github.com/lathe-ci/lathe/pipeline"
)

// planOut is a plan as `lathe plan` prints it; the server's plan answer
// decodes into it too.
type planOut struct {
	Pipeline string             `json:"pipeline"`
	Commit   string             `json:"commit,omitempty"`
	Ref      string             `json:"ref,omitempty"`
	Event    string             `json:"event"`
	Stages   []string           `json:"stages"`
	Params   []lathe.EnvVar     `json:"params"`
	Jobs     []pipeline.JobView `json:"jobs"`
	Skipped  []pipeline.Skipped `json:"skipped"`
	// idle says why the event starts no run of the pipeline at all (its
	// on: does not take it), "" when it does or the server planned.
	idle string
}

// cmdPlan shows what a run of a pipeline would queue, without running it:
// the jobs after extends, matrix and conditions (Zuul's freeze-jobs). With
// --project it asks the server about a ref; otherwise it plans the pipeline
// files of --dir, as `lathe exec` would run them.
func planCmd(env *Env) *cobra.Command {
	return env.leaf("plan [PIPELINE]", "show the jobs a run of a pipeline would get, after matrix, conditions and extends, without running it", func(fs *pflag.FlagSet) body {
		return planBody(fs, env)
	})
}

func planBody(fs *pflag.FlagSet, env *Env) body {
	mk := clientFlags(fs, env)
	project := fs.String("project", "", "plan the project's pipeline on the server at --ref instead of the local files")
	ref := fs.String("ref", "", "with --project: branch, tag or commit (default: the project's default branch)")
	dir := fs.String("dir", ".", "directory holding .lathe.yml or .lathe/*.yml")
	event := fs.String("event", "", "the `kind` of event to plan for: push, pull_request, tag, schedule, manual, webhook or pipeline (default: from --dir's repository, as lathe exec: push on a branch, tag at a detached tag, else manual; with --project, manual)")
	o := outputFlags(fs, false)
	var params keyValues
	fs.Var(&params, "param", "`K=V`: a parameter of the run (repeatable)")
	return func(ctx context.Context, pos []string) int {
		if len(pos) > 1 || *project != "" && len(pos) != 1 {
			fmt.Fprintln(env.Stderr, "lathe plan: name one pipeline (with --project, the pipeline is required)")
			return badUsage
		}
		name := ""
		if len(pos) == 1 {
			name = pos[0]
		}
		var out planOut
		if *project != "" {
			if *event == "" {
				*event = pipeline.EventManual
			}
			q := url.Values{"ref": {*ref}, "event": {*event}}
			for _, p := range params.vars {
				q.Add("param", p.Name+"="+p.Value)
			}
			path := fmt.Sprintf("/api/v1/projects/%s/pipelines/%s/plan?%s", url.PathEscape(*project), url.PathEscape(name), q.Encode())
			if err := mk().Do(ctx, "GET", path, nil, &out); err != nil {
				return fail(env, err)
			}
		} else {
			p, err := localPlan(ctx, *dir, name, *event, params)
			if err != nil {
				var invalid pipeline.ErrorList
				if errors.As(err, &invalid) {
					return fail(env, fmt.Errorf("the pipeline files are invalid:\n%v", invalid))
				}
				return fail(env, err)
			}
			out = *p
		}
		if o.structured() {
			return o.print(env, out)
		}
		printPlan(env, &out)
		return 0
	}
}

func localPlan(ctx context.Context, dir, name, event string, params keyValues) (*planOut, error) {
	pl, err := local.Load(dir, name)
	if err != nil {
		return nil, err
	}
	given := map[string]string{}
	for _, p := range params.vars {
		given[p.Name] = p.Value
	}
	// The event exec would run for: the same jobs.
	ev := local.RepoEvent(ctx, dir, event)
	plan, err := pl.Plan(pipeline.PlanInput{Params: given, Event: ev})
	if err != nil {
		return nil, err
	}
	out := &planOut{Pipeline: pl.Name, Commit: ev.Commit, Ref: ev.Ref, Event: ev.Kind, Stages: plan.Stages, Skipped: plan.Skipped}
	out.idle = local.IdleNote(pl, ev)
	for _, pv := range plan.Params {
		out.Params = append(out.Params, lathe.EnvVar{Name: pv.Name, Value: pv.Value.Text()})
	}
	for _, j := range plan.Jobs {
		out.Jobs = append(out.Jobs, j.View())
	}
	return out, nil
}

// printPlan prints the jobs in the order they can run, one line each, then
// those left out and why.
func printPlan(env *Env, p *planOut) {
	at := ""
	switch {
	case p.Commit != "" && p.Ref != "":
		at = fmt.Sprintf(" at %.12s (%s)", p.Commit, p.Ref)
	case p.Commit != "":
		at = fmt.Sprintf(" at %.12s (detached HEAD)", p.Commit)
	}
	fmt.Fprintf(env.Stdout, "pipeline %s%s, event %s: %d job(s)\n", p.Pipeline, at, p.Event, len(p.Jobs))
	if p.idle != "" {
		fmt.Fprintf(env.Stdout, "note: %s\n", p.idle)
	}
	for _, pv := range p.Params {
		fmt.Fprintf(env.Stdout, "  param %s = %q\n", pv.Name, pv.Value)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSTAGE\tNEEDS\tRUNS-ON\tSTEPS\tNOTES")
	for _, j := range p.Jobs {
		var notes []string
		if j.AllowFailure {
			notes = append(notes, "may fail")
		}
		if j.RetryCount > 0 {
			notes = append(notes, fmt.Sprintf("retry %d", j.RetryCount))
		}
		if j.Environment != "" {
			notes = append(notes, "deploys to "+j.Environment)
		}
		if len(j.ApprovalFrom) > 0 {
			notes = append(notes, "approval from "+strings.Join(j.ApprovalFrom, ", "))
		}
		if j.Concurrency != nil {
			notes = append(notes, fmt.Sprintf("semaphore %s/%d", j.Concurrency.Group, j.Concurrency.Limit))
		}
		if len(j.Secrets) > 0 {
			notes = append(notes, "secrets "+strings.Join(j.Secrets, ", "))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", j.Name, j.Stage, dash(strings.Join(j.Deps, ", ")),
			dash(strings.Join(j.RunsOn, ", ")), len(j.Steps), strings.Join(notes, "; "))
	}
	tw.Flush()
	for _, s := range p.Skipped {
		fmt.Fprintf(env.Stdout, "left out: %s: %s\n", s.Job, s.Reason)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
