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

// cachesCmd lists a project's caches (its jobs' cache:), most recently
// used first: trusted runs' and untrusted runs' (a scope of their own).
func cachesCmd(env *Env) *cobra.Command {
	return env.leaf("caches PROJECT", "list a project's caches (its jobs' cache:), most recently used first", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var list struct {
				Items []*lathe.Cache `json:"items"`
			}
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/projects/"+url.PathEscape(pos[0])+"/caches", nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
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
			return 0
		}
	})
}
