package cli

import (
	"fmt"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	lathe "github.com/lathe-ci/lathe"
)

// cachesCmd lists a project's caches (its jobs' cache:), most recently
// used first: trusted runs' and untrusted runs' (a scope of their own).
func cachesCmd(env *Env) *cobra.Command {
	type caches items[*lathe.Cache]
	return answerCmd(env, "caches PROJECT", "list a project's caches (its jobs' cache:), most recently used first", 1, true,
		noFlags(func(pos []string) request { return get("/api/v1/projects/" + url.PathEscape(pos[0]) + "/caches") }),
		func(env *Env, list *caches, _ []string) {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKEY\tSIZE\tSCOPE\tLAST USED\tCREATED")
			for _, c := range list.Items {
				scope := "trusted"
				if c.Untrusted {
					scope = "untrusted"
				}
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", c.ID, field(c.Key), c.Size, scope,
					c.LastUsedAt.Local().Format(time.DateTime), c.CreatedAt.Local().Format(time.DateTime))
			}
			tw.Flush()
		})
}
