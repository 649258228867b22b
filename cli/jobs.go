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

// jobsCmd is `lathe jobs`: jobs across runs, such as the queue
// (--status queued, with why each job waits) or what runs now.
func jobsCmd(env *Env) *cobra.Command {
	return env.leaf("jobs", "list jobs across runs: the queue with why each job waits (--status queued), what runs now (--status running)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		filters := map[string]*string{}
		for _, f := range []string{"project", "status", "before"} {
			filters[f] = fs.String(f, "", "only jobs with this "+f)
		}
		limit := fs.Int("limit", 20, "how many jobs")
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			q := url.Values{"limit": {strconv.Itoa(*limit)}}
			queryFlags(q, filters)
			var page lathe.Page[*lathe.JobEntry]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/jobs?"+q.Encode(), nil, &page); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, page)
			}
			paint := newPainter(env)
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "ID\tPROJECT\tPIPELINE\t#\tJOB\t%s\tWAITING FOR\n", paint.header("STATUS"))
			for _, j := range page.Items {
				wait := j.WaitReason
				if j.Status == lathe.StatusWaiting {
					// A gate's reason is the gate's, as lathe status says it.
					wait = waitReason(&lathe.Run{ID: j.RunID}, j.Job)
				}
				if wait == "" {
					wait = "-"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", j.ID, field(j.Project), field(j.Pipeline), j.RunNumber, field(j.Name),
					paint.status(string(j.Status)), field(wait))
			}
			tw.Flush()
			return 0
		}
	})
}
