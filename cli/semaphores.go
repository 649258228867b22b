package cli

import (
	"fmt"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// semaphoresAnswer is either answer of semaphores: the list's items, or
// the one semaphore NAME asks for.
type semaphoresAnswer struct {
	Items []*lathe.Semaphore `json:"items"`
	lathe.Semaphore
}

func semaphoresCmd(env *Env) *cobra.Command {
	cmd := answerCmd(env, "semaphores PROJECT [NAME]", "show a project's semaphores: their limits, holders and waiters", -1, false,
		func(*pflag.FlagSet) func(pos []string) (request, error) {
			return func(pos []string) (request, error) {
				if len(pos) < 1 || len(pos) > 2 {
					return request{}, errUsage
				}
				path := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/semaphores"
				if len(pos) == 2 {
					path += "/" + url.PathEscape(pos[1])
				}
				return get(path), nil
			}
		},
		func(env *Env, a *semaphoresAnswer, pos []string) {
			sems := a.Items
			if len(pos) == 2 {
				sems = []*lathe.Semaphore{&a.Semaphore}
			}
			printSemaphores(env, sems)
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
