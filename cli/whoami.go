package cli

import (
	"context"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// whoamiCmd is `lathe whoami`: the user the credential in use belongs to.
func whoamiCmd(env *Env) *cobra.Command {
	return env.leaf("whoami", "show who the server takes you for with the credential in use, and which server", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			c := mk()
			var u lathe.User
			if err := out.wrap(c.Do)(ctx, http.MethodGet, "/api/v1/users/me", nil, &u); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, u)
			}
			kind := "user"
			switch {
			case u.Service:
				kind = "service account"
			case u.Admin:
				kind = "admin"
			}
			fmt.Fprintf(env.Stdout, "%s (%s) on %s\n", field(u.Name), kind, field(c.BaseURL))
			return 0
		}
	})
}
