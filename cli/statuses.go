package cli

import (
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
	type statuses items[*lathe.Delivery]
	return answerCmd(env, "statuses RUN", "list the commit statuses a run reported to its forge, with the forge's HTTP code for every try (--resend: send its state again)", 1, true,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			resend := fs.Bool("resend", false, "queue the run's current state to its forge again (after fixing a forge's token, say), then list")
			return func(pos []string) (request, error) {
				path := "/api/v1/runs/" + url.PathEscape(pos[0]) + "/statuses"
				if *resend {
					return request{method: http.MethodPost, path: path + "/resend"}, nil
				}
				return get(path), nil
			}
		},
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
