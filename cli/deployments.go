package cli

import (
	"fmt"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// deploymentsCmd is `lathe deployments`: the deployment history across
// the projects you may read, of one project, or of one environment.
func deploymentsCmd(env *Env) *cobra.Command {
	return answerCmd(env, "deployments", "list deployments, newest first: across projects, of --project, or of --project's --environment", 0, true,
		func(fs *pflag.FlagSet) func([]string) (request, error) {
			project := fs.String("project", "", "only this project's")
			environment := fs.String("environment", "", "only this environment's (with --project)")
			page := pageFlags(fs, "deployments", 20, 200)
			return func([]string) (request, error) {
				if *environment != "" && *project == "" {
					return request{}, errUsage
				}
				q := url.Values{}
				path := "/api/v1/deployments"
				switch {
				case *environment != "":
					path = "/api/v1/projects/" + url.PathEscape(*project) + "/environments/" + url.PathEscape(*environment) + "/deployments"
				case *project != "":
					q.Set("project", *project)
				}
				return get(path + "?" + page.query(q)), nil
			}
		},
		func(env *Env, page *lathe.Page[*lathe.Deployment], _ []string) {
			paint := newPainter(env)
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "ID\tPROJECT\tENVIRONMENT\tVERSION\tCOMMIT\t%s\tBY\tWHEN\n", paint.header("STATUS"))
			for _, d := range page.Items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.12s\t%s\t%s\t%s\n", d.ID, field(d.Project), field(d.Environment), field(d.Version), d.Commit,
					paint.status(d.Status), field(d.CreatedBy), d.CreatedAt.Local().Format("2006-01-02 15:04"))
			}
			tw.Flush()
			printMore(env, page.Next)
		})
}
