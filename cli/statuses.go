package cli

import (
	"fmt"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	lathe "github.com/lathe-ci/lathe"
)

// statusesCmd lists the commit statuses a run reported to its project's
// forge, with the forge's answer to every try.
func statusesCmd(env *Env) *cobra.Command {
	type statuses items[*lathe.Delivery]
	return answerCmd(env, "statuses RUN", "list the commit statuses a run reported to its forge, with the forge's HTTP code for every try", 1, true,
		noFlags(func(pos []string) request { return get("/api/v1/runs/" + url.PathEscape(pos[0]) + "/statuses") }),
		func(env *Env, list *statuses, _ []string) {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCONTEXT\tSTATE\tTRIES\tSTATUS\tWHEN\tERROR")
			for _, d := range list.Items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, field(d.Context), field(d.State), tryCodes(d.Tries), d.Status,
					d.CreatedAt.Local().Format("2006-01-02 15:04:05"), dash(field(d.Error)))
			}
			tw.Flush()
		})
}
