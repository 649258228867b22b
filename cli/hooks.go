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

const hooksLong = `A project's webhook tokens start its push and webhook runs: a forge or script posts
  curl -X POST SERVER/api/v1/hooks/TOKEN -d '{"ref": "main", "event": "push"}'
A forge's own hooks (/api/v1/hooks/KIND/PROJECT) are signed with the project's hook
secret instead: lathe hooks secret PROJECT.`

// hooksCmd manages a project's webhook tokens and hook secret.
func hooksCmd(env *Env) *cobra.Command {
	path := func(project string) string { return "/api/v1/projects/" + url.PathEscape(project) + "/hook-tokens" }
	create := env.leaf("create PROJECT NAME", "make a webhook token (shown once)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			c := mk()
			var ht lathe.HookToken
			if err := out.wrap(c.Do)(ctx, http.MethodPost, path(pos[0]), map[string]string{"name": pos[1]}, &ht); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, ht)
			}
			fmt.Fprintf(env.Stdout, "webhook token %d (%s): %s\nIt is shown only now. POST to %s/api/v1/hooks/TOKEN to start runs.\n",
				ht.ID, ht.Name, ht.Token, c.BaseURL)
			return 0
		}
	})
	type hookTokens items[*lathe.HookToken]
	list := answerCmd(env, "list PROJECT", "the project's webhook tokens", 1, true,
		noFlags(func(pos []string) request { return get(path(pos[0])) }),
		func(env *Env, list *hookTokens, _ []string) {
			rows := make([]tokenRow, len(list.Items))
			for i, ht := range list.Items {
				rows[i] = tokenRow{ht.ID, ht.Name, ht.CreatedAt, ht.LastUsed, ht.RevokedAt}
			}
			printTokens(env.Stdout, rows)
		})
	revoke := deleteCmd(env, "revoke PROJECT ID", "stop a webhook token at once", 2,
		func(pos []string) string { return path(pos[0]) + "/" + url.PathEscape(pos[1]) },
		func(pos []string) string { return fmt.Sprintf("webhook token %s revoked", pos[1]) })
	secret := env.leaf("secret PROJECT", "set the secret that signs the project's forge hooks: a new random one (printed once), or --stdin", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		fromStdin := fs.Bool("stdin", false, "read the secret to set (the one typed into the forge's hook settings) from standard input")
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			p := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/hook-secret"
			if *fromStdin {
				v, err := readPassword(env, "Hook secret: ", false)
				if err != nil {
					return fail(env, fmt.Errorf("read the secret: %w", err))
				}
				if err := mk().Do(ctx, http.MethodPut, p, map[string]string{"secret": v}, nil); err != nil {
					return fail(env, err)
				}
				fmt.Fprintf(env.Stdout, "hook secret of %s set; the old one no longer signs\n", pos[0])
				return 0
			}
			var out struct {
				Secret string `json:"secret"`
			}
			if err := mk().Do(ctx, http.MethodPost, p, nil, &out); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "hook secret of %s (shown only now; the old one no longer signs):\n%s\n", pos[0], out.Secret)
			return 0
		}
	})
	return group("hooks", "manage a project's webhook tokens and hook secret", hooksLong, create, list, revoke, secret)
}

// membersCmd is `lathe project members`: who holds which role on a project.
func membersCmd(env *Env) *cobra.Command {
	base := func(project string) string { return "/api/v1/projects/" + url.PathEscape(project) + "/members" }
	who := func(fs *pflag.FlagSet) (user, team *string) {
		return fs.String("user", "", "the user"), fs.String("team", "", "the team")
	}
	memberPath := func(project, user, team string) (string, bool) {
		switch {
		case user != "" && team == "":
			return base(project) + "/users/" + url.PathEscape(user), true
		case team != "" && user == "":
			return base(project) + "/teams/" + url.PathEscape(team), true
		}
		return "", false
	}
	type members items[lathe.Member]
	list := answerCmd(env, "list PROJECT", "the users and teams with a role on the project", 1, false,
		noFlags(func(pos []string) request { return get(base(pos[0])) }),
		func(env *Env, list *members, _ []string) {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tTEAM\tROLE")
			for _, m := range list.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", dash(field(m.User)), dash(field(m.Team)), m.Role)
			}
			tw.Flush()
		})
	grant := answerCmd(env, "grant PROJECT ROLE (--user U | --team T)", "give a user or team a role on the project: read, write or owner", 2, false,
		func(fs *pflag.FlagSet) func([]string) (request, error) {
			user, team := who(fs)
			return func(pos []string) (request, error) {
				p, ok := memberPath(pos[0], *user, *team)
				if !ok {
					return request{}, errUsage
				}
				return request{method: http.MethodPut, path: p, body: map[string]string{"role": pos[1]}}, nil
			}
		},
		func(env *Env, m *lathe.Member, pos []string) {
			fmt.Fprintf(env.Stdout, "%s%s has role %s on %s\n", field(m.User), field(m.Team), m.Role, pos[0])
		})
	revoke := env.leaf("revoke PROJECT (--user U | --team T)", "take a user's or team's role on the project", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		user, team := who(fs)
		return func(ctx context.Context, pos []string) int {
			p, ok := memberPath(pos0(pos), *user, *team)
			if len(pos) != 1 || !ok {
				return badUsage
			}
			if err := mk().Do(ctx, http.MethodDelete, p, nil, nil); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "%s%s has no role on %s now\n", *user, *team, pos[0])
			return 0
		}
	})
	return group("members", "who holds which role on a project: list, grant, revoke", "", list, grant, revoke)
}

// pos0 is the first positional argument, or "".
func pos0(pos []string) string {
	if len(pos) == 0 {
		return ""
	}
	return pos[0]
}
