package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

func promoteCmd(env *Env) *cobra.Command {
	return env.leaf("promote RUN", "move a run to the front of its pipeline's queue", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		return func(ctx context.Context, pos []string) int {
			id, err := runArg(pos)
			if err != nil {
				return argFail(env, err)
			}
			var run lathe.Run
			if err := mk().Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/promote", id), nil, &run); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "run %d: %s #%d is at the front of its pipeline's queue\n", run.ID, field(run.Pipeline), run.Number)
			return 0
		}
	})
}

func dequeueCmd(env *Env) *cobra.Command {
	return env.leaf("dequeue PROJECT (--ref REF | --pr N)", "cancel the queued and running runs of a ref (--ref) or a pull request (--pr)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		ref := fs.String("ref", "", "cancel the unfinished runs of this branch, tag or ref")
		pr := fs.Int64("pr", 0, "cancel the unfinished runs of pull request `N`")
		pipeline := fs.String("pipeline", "", "only the runs of this pipeline")
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 || (*ref == "") == (*pr == 0) {
				return badUsage
			}
			in := map[string]any{"pipeline": *pipeline}
			if *ref != "" {
				in["ref"] = *ref
			} else {
				in["pull_request"] = *pr
			}
			var out struct{ Items []*lathe.Run }
			if err := mk().Do(ctx, http.MethodPost, "/api/v1/projects/"+url.PathEscape(pos[0])+"/dequeue", in, &out); err != nil {
				return fail(env, err)
			}
			for _, r := range out.Items {
				fmt.Fprintf(env.Stdout, "run %d: %s #%d at %.12s (%s) canceled\n", r.ID, field(r.Pipeline), r.Number, r.Commit, field(r.Ref))
			}
			if len(out.Items) == 0 {
				fmt.Fprintln(env.Stdout, "no queued or running run to cancel")
			}
			return 0
		}
	})
}

func sequenceCmd(env *Env) *cobra.Command {
	return env.leaf("sequence PROJECT PIPELINE", "show or set (--next) the number a pipeline's next run takes (--branch: a branch's)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		branch := fs.String("branch", "", "the branch's sequence (pipelines with numbering: per-branch)")
		next := fs.Int64("next", 0, "set the number the next run takes (`N`; only forward; owners and admins)")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			path := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/pipelines/" + url.PathEscape(pos[1]) + "/sequence"
			if *branch != "" {
				path += "?branch=" + url.QueryEscape(*branch)
			}
			var seq lathe.Sequence
			var err error
			if *next != 0 {
				err = out.wrap(mk().Do)(ctx, http.MethodPut, path, map[string]int64{"next": *next}, &seq)
			} else {
				err = out.wrap(mk().Do)(ctx, http.MethodGet, path, nil, &seq)
			}
			if err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, seq)
			}
			of := seq.Pipeline
			if seq.Branch != "" {
				of += " on " + seq.Branch
			}
			fmt.Fprintf(env.Stdout, "the next run of %s is #%d\n", of, seq.Next)
			return 0
		}
	})
}
