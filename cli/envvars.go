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

const envVarsLong = `An environment's variables and secrets reach only the jobs that deploy to it
(environment: ENV, or its deployments' deploy runs), once past its gate, and
override the project's of the same name. A secret's value is never printed.`

// envVarsCmd manages the variables and secrets of an environment.
func envVarsCmd(env *Env) *cobra.Command {
	base := func(pos []string) string {
		return "/api/v1/projects/" + url.PathEscape(pos[0]) + "/environments/" + url.PathEscape(pos[1]) + "/variables"
	}
	list := env.leaf("list PROJECT ENV", "list an environment's variables and secrets (never a secret's value)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			var list items[*lathe.EnvironmentVariable]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, base(pos), nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVALUE\tUPDATED\tBY")
			for _, v := range list.Items {
				value := field(v.Value)
				if v.Secret {
					value = "(secret)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", field(v.Name), value, v.UpdatedAt.Local().Format("2006-01-02 15:04:05"), field(v.UpdatedBy))
			}
			tw.Flush()
			return 0
		}
	})
	set := env.leaf("set PROJECT ENV NAME", "set a variable or (--secret) a secret of an environment (the value comes from stdin unless --value-file)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		secret := fs.Bool("secret", false, "seal the value as a secret (never printed again)")
		valueFile := fs.String("value-file", "", "read the value from this file instead of stdin")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 3 {
				return badUsage
			}
			value, err := readValue(env, *valueFile)
			if err != nil {
				return fail(env, err)
			}
			var v lathe.EnvironmentVariable
			if err := out.wrap(mk().Do)(ctx, http.MethodPut, base(pos)+"/"+url.PathEscape(pos[2]), map[string]any{"value": value, "secret": *secret}, &v); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, v)
			}
			kind := "variable"
			if v.Secret {
				kind = "secret"
			}
			fmt.Fprintf(env.Stdout, "%s %s of %s set\n", kind, field(v.Name), field(pos[1]))
			return 0
		}
	})
	del := deleteCmd(env, "delete PROJECT ENV NAME", "delete a variable or secret of an environment", 3,
		func(pos []string) string { return base(pos) + "/" + url.PathEscape(pos[2]) },
		func(pos []string) string { return fmt.Sprintf("%s of %s deleted", field(pos[2]), field(pos[1])) })
	return group("envvars", "manage an environment's variables and secrets (list, set, delete): only its deploy jobs get them", envVarsLong, list, set, del)
}
