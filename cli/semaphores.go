package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

func semaphoresCmd(env *Env) *cobra.Command {
	cmd := env.leaf("semaphores PROJECT [NAME]", "show a project's semaphores: their limits, holders and waiters", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) < 1 || len(pos) > 2 {
				return badUsage
			}
			do := out.wrap(mk().Do)
			path := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/semaphores"
			var sems []*lathe.Semaphore
			if len(pos) == 2 {
				var sem lathe.Semaphore
				if err := do(ctx, http.MethodGet, path+"/"+url.PathEscape(pos[1]), nil, &sem); err != nil {
					return fail(env, err)
				}
				if out.structured() {
					return out.print(env, sem)
				}
				sems = []*lathe.Semaphore{&sem}
			} else {
				var list struct {
					Items []*lathe.Semaphore `json:"items"`
				}
				if err := do(ctx, http.MethodGet, path, nil, &list); err != nil {
					return fail(env, err)
				}
				if out.structured() {
					return out.print(env, list)
				}
				sems = list.Items
			}
			printSemaphores(env, sems)
			return 0
		}
	})
	cmd.Long = `Lists the project's semaphores (concurrency groups) with their limit, the
running attempts holding each and the queued jobs waiting for it.`
	return cmd
}

// printSemaphores prints one line per semaphore, then one per holder and
// waiter under it.
func printSemaphores(env *Env, sems []*lathe.Semaphore) {
	if len(sems) == 0 {
		fmt.Fprintln(env.Stdout, "no semaphores: no job of this project names a concurrency group")
		return
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEMAPHORE\tHELD\tSTATE\tRUN\tJOB\tATTEMPT\tAGENT\tSINCE")
	for _, s := range sems {
		fmt.Fprintf(tw, "%s\t%d/%d\t\t\t\t\t\t\n", field(s.Name), len(s.Holders), s.Limit)
		for _, h := range s.Holders {
			fmt.Fprintf(tw, "\t\tholding\t%s #%d\t%s (%d)\t%d\t%s\t%s\n", field(h.Pipeline), h.RunNumber, field(h.Job), h.JobID, h.AttemptID, field(h.Agent),
				h.Since.Local().Format(time.DateTime))
		}
		for _, w := range s.Waiters {
			fmt.Fprintf(tw, "\t\twaiting\t%s #%d\t%s (%d)\t-\t-\t%s\n", field(w.Pipeline), w.RunNumber, field(w.Job), w.JobID, fmtTime(w.QueuedAt))
		}
	}
	tw.Flush()
}
