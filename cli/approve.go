package cli

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// gateCmd is `lathe approve` or `lathe reject`: the decision (verb) on a
// job waiting at its approval gate, named by ID or by run and job name.
func gateCmd(env *Env, verb, short, done string) *cobra.Command {
	return env.leaf(verb+" JOB | RUN JOB_NAME", short, func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		var comment *string
		if verb == "reject" {
			comment = fs.String("comment", "", "why: kept with the job and its deployment, and in the audit log")
		}
		return func(ctx context.Context, pos []string) int {
			c := mk()
			var id int64
			switch len(pos) {
			case 1:
				n, err := strconv.ParseInt(pos[0], 10, 64)
				if err != nil || n <= 0 {
					return fail(env, fmt.Errorf("%q is not a job ID", pos[0]))
				}
				id = n
			case 2:
				got, ok, code := jobTarget(ctx, env, c, 0, pos)
				if !ok {
					return code
				}
				id = got
			default:
				return badUsage
			}
			var in any
			if comment != nil && *comment != "" {
				in = map[string]string{"comment": *comment}
			}
			var j lathe.Job
			if err := c.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/%s", id, verb), in, &j); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "job %d (%s) %s\n", j.ID, field(j.Name), done)
			return 0
		}
	})
}
