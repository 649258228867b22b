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

// deploymentsCmd is `lathe deployments`: the deployment history across
// the projects you may read, of one project, or of one environment.
func deploymentsCmd(env *Env) *cobra.Command {
	return env.leaf("deployments", "list deployments, newest first: across projects, of --project, or of --project's --environment", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		project := fs.String("project", "", "only this project's")
		environment := fs.String("environment", "", "only this environment's (with --project)")
		limit := fs.Int("limit", 20, "how many deployments")
		before := fs.Int64("before", 0, "the page after this cursor (a page's next)")
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 || *environment != "" && *project == "" {
				return badUsage
			}
			q := url.Values{"limit": {strconv.Itoa(*limit)}}
			if *before > 0 {
				q.Set("before", strconv.FormatInt(*before, 10))
			}
			path := "/api/v1/deployments"
			switch {
			case *environment != "":
				path = "/api/v1/projects/" + url.PathEscape(*project) + "/environments/" + url.PathEscape(*environment) + "/deployments"
			case *project != "":
				q.Set("project", *project)
			}
			var page lathe.Page[*lathe.Deployment]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &page); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, page)
			}
			paint := newPainter(env)
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "ID\tPROJECT\tENVIRONMENT\tVERSION\tCOMMIT\t%s\tBY\tWHEN\n", paint.header("STATUS"))
			for _, d := range page.Items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.12s\t%s\t%s\t%s\n", d.ID, field(d.Project), field(d.Environment), field(d.Version), d.Commit,
					paint.status(d.Status), field(d.CreatedBy), d.CreatedAt.Local().Format("2006-01-02 15:04"))
			}
			tw.Flush()
			if page.Next != nil {
				fmt.Fprintf(env.Stdout, "more: add --before %d\n", *page.Next)
			}
			return 0
		}
	})
}
