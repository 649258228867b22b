package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// statusesCmd lists the commit statuses a run reported to its project's
// forge, with the forge's answer to every try.
func statusesCmd(env *Env) *cobra.Command {
	return env.leaf("statuses RUN", "list the commit statuses a run reported to its forge, with the forge's HTTP code for every try", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var list struct {
				Items []*lathe.Delivery `json:"items"`
			}
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/runs/"+url.PathEscape(pos[0])+"/statuses", nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCONTEXT\tSTATE\tTRIES\tSTATUS\tWHEN\tERROR")
			for _, d := range list.Items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, field(d.Context), field(d.State), tryCodes(d.Tries), d.Status,
					d.CreatedAt.Local().Format("2006-01-02 15:04:05"), dash(field(d.Error)))
			}
			tw.Flush()
			return 0
		}
	})
}
