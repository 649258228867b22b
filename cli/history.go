package cli

import (
	"context"
	"fmt"
	"net/http"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// historyCmd is `lathe history RUN`: the run and the runs of its pipeline
// on its branch before it, with their test totals.
func historyCmd(env *Env) *cobra.Command {
	return env.leaf("history RUN", "show the results history up to a run: it and the runs before it on its branch, with test totals", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		limit := fs.Int("limit", 20, "how many runs (1–100)")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			id, err := runArg(pos)
			if err != nil {
				return argFail(env, err)
			}
			var h items[*lathe.RunResults]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/history?limit=%d", id, *limit), nil, &h); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, h)
			}
			paint := newPainter(env)
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "ID\t#\tCOMMIT\t%s\tPASSED\tFAILED\tERROR\tSKIPPED\tNEW FAILURES\tFIXED\n", paint.header("STATUS"))
			for _, r := range h.Items {
				tt := r.Tests
				fmt.Fprintf(tw, "%d\t%d\t%.12s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", r.ID, r.Number, r.Commit, paint.status(string(r.Status)),
					tt.Passed, tt.Failed, tt.Error, tt.Skipped, tt.NewFailures, tt.Fixed)
			}
			tw.Flush()
			return 0
		}
	})
}
