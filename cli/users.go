package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

func userCmd(env *Env) *cobra.Command {
	show := func(out *output, u *lathe.User) int {
		if out.structured() {
			return out.print(env, u)
		}
		email := ""
		if u.Email != "" {
			email = " <" + field(u.Email) + ">"
		}
		fmt.Fprintf(env.Stdout, "user %s%s (admin %v, service %v, disabled %v)\n", field(u.Name), email, u.Admin, u.Service, u.Disabled)
		return 0
	}
	create := env.leaf("create NAME", "create a user (the password is read without echo) or a service account (--service)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		admin := fs.Bool("admin", false, "an admin")
		service := fs.Bool("service", false, "a service account: no password, tokens only")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			in := map[string]any{"name": pos[0], "admin": *admin, "service": *service}
			if !*service {
				pw, err := readPassword(env, "Password for "+pos[0]+": ", false)
				if err != nil {
					return fail(env, fmt.Errorf("read password: %w", err))
				}
				in["password"] = pw
			}
			var u lathe.User
			if err := out.wrap(mk().Do)(ctx, http.MethodPost, "/api/v1/users", in, &u); err != nil {
				return fail(env, err)
			}
			return show(out, &u)
		}
	})
	get := env.leaf("get NAME", "show a user", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var u lathe.User
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/users/"+url.PathEscape(pos[0]), nil, &u); err != nil {
				return fail(env, err)
			}
			return show(out, &u)
		}
	})
	update := env.leaf("update NAME", "make a user an admin or not, disable or enable them, rename them, set their email", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		admin := fs.Bool("admin", false, "an admin (--admin=false: not)")
		disabled := fs.Bool("disabled", false, "disabled (--disabled=false: enabled)")
		name := fs.String("name", "", "rename the user (its sessions, tokens and project roles stay)")
		email := fs.String("email", "", "the user's email address (--email '': none)")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			in := map[string]any{}
			if fs.Changed("admin") {
				in["admin"] = *admin
			}
			if fs.Changed("disabled") {
				in["disabled"] = *disabled
			}
			if fs.Changed("name") {
				in["name"] = *name
			}
			if fs.Changed("email") {
				in["email"] = *email
			}
			var u lathe.User
			if err := out.wrap(mk().Do)(ctx, http.MethodPatch, "/api/v1/users/"+url.PathEscape(pos[0]), in, &u); err != nil {
				return fail(env, err)
			}
			return show(out, &u)
		}
	})
	passwd := env.leaf("passwd", "change your password (read without echo)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		revokeTokens := fs.Bool("revoke-tokens", false, "also revoke your API tokens")
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			cur, err := readPassword(env, "Current password: ", false)
			if err != nil {
				return fail(env, fmt.Errorf("read password: %w", err))
			}
			next, err := readPassword(env, "New password: ", false)
			if err != nil {
				return fail(env, fmt.Errorf("read password: %w", err))
			}
			in := map[string]any{"current_password": cur, "new_password": next, "revoke_tokens": *revokeTokens}
			if err := mk().Do(ctx, http.MethodPut, "/api/v1/users/me/password", in, nil); err != nil {
				return fail(env, err)
			}
			if *revokeTokens {
				fmt.Fprintln(env.Stdout, "password changed; your other sessions are logged out and your API tokens revoked")
			} else {
				fmt.Fprintln(env.Stdout, "password changed; your other sessions are logged out (--revoke-tokens also revokes your API tokens)")
			}
			return 0
		}
	})
	del := env.leaf("delete NAME", "disable a user (admins): its sessions and tokens stop working; the user is kept for its history", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var u lathe.User
			if err := out.wrap(mk().Do)(ctx, http.MethodDelete, "/api/v1/users/"+url.PathEscape(pos[0]), nil, &u); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, &u)
			}
			fmt.Fprintf(env.Stdout, "user %s disabled: its sessions and tokens stop working (lathe user update %s --disabled=false enables it again)\n", field(u.Name), field(u.Name))
			return 0
		}
	})
	reset := env.leaf("reset-password NAME", "set a user's password (admins; read without echo): their login sessions end", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		revokeTokens := fs.Bool("revoke-tokens", false, "also revoke the user's API tokens")
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			pw, err := readPassword(env, "New password for "+pos[0]+": ", false)
			if err != nil {
				return fail(env, fmt.Errorf("read password: %w", err))
			}
			in := map[string]any{"password": pw, "revoke_tokens": *revokeTokens}
			if err := mk().Do(ctx, http.MethodPut, "/api/v1/users/"+url.PathEscape(pos[0])+"/password", in, nil); err != nil {
				return fail(env, err)
			}
			if *revokeTokens {
				fmt.Fprintf(env.Stdout, "password of %s reset; their login sessions are ended and their API tokens revoked\n", pos[0])
			} else {
				fmt.Fprintf(env.Stdout, "password of %s reset; their login sessions are ended (--revoke-tokens also revokes their API tokens)\n", pos[0])
			}
			return 0
		}
	})
	list := env.leaf("list", "list users", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			var page lathe.Page[*lathe.User]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/users?limit=200", nil, &page); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, page)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tADMIN\tSERVICE\tDISABLED")
			for _, u := range page.Items {
				fmt.Fprintf(tw, "%s\t%v\t%v\t%v\n", u.Name, u.Admin, u.Service, u.Disabled)
			}
			tw.Flush()
			return 0
		}
	})
	tokens, createToken, revokeToken := userTokenCmds(env)
	return group("user", "manage users and service accounts: create, list, get, update, delete, passwd, reset-password, tokens, projects", "",
		create, list, get, update, del, passwd, reset, tokens, createToken, revokeToken,
		grantsCmd(env, "users", "list the projects a user holds roles on, directly and through teams (admins)"))
}

// userTokenCmds are `lathe user tokens|create-token|revoke-token`: an
// admin's view of a user's API tokens and sessions.
func userTokenCmds(env *Env) (list, create, revoke *cobra.Command) {
	list = env.leaf("tokens NAME", "list a user's API tokens and sessions (admins)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			return listTokens(ctx, env, out, out.wrap(mk().Do), "/api/v1/users/"+url.PathEscape(pos[0])+"/tokens")
		}
	})
	create = env.leaf("create-token USER NAME", "make an API token for a user, as for a service account (admins; shown once)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		scopes, expires := tokenFlags(fs)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			return createToken(ctx, env, out, out.wrap(mk().Do), "/api/v1/users/"+url.PathEscape(pos[0])+"/tokens", pos[1], *scopes, *expires)
		}
	})
	revoke = env.leaf("revoke-token NAME ID", "revoke a user's API token or session (admins)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			if err := mk().Do(ctx, http.MethodDelete, "/api/v1/users/"+url.PathEscape(pos[0])+"/tokens/"+url.PathEscape(pos[1]), nil, nil); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "revoked token %s of %s\n", pos[1], pos[0])
			return 0
		}
	})
	return list, create, revoke
}

// tokenCmd is `lathe token`: the caller's own API tokens.
func tokenCmd(env *Env) *cobra.Command {
	create := env.leaf("create NAME", "make an API token for yourself (shown once)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		scopes, expires := tokenFlags(fs)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			return createToken(ctx, env, out, out.wrap(mk().Do), "/api/v1/tokens", pos[0], *scopes, *expires)
		}
	})
	list := env.leaf("list", "list your API tokens and sessions", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			return listTokens(ctx, env, out, out.wrap(mk().Do), "/api/v1/tokens")
		}
	})
	revoke := deleteCmd(env, "revoke ID", "revoke one of your API tokens or sessions", 1,
		func(pos []string) string { return "/api/v1/tokens/" + url.PathEscape(pos[0]) },
		func(pos []string) string { return fmt.Sprintf("revoked token %s", pos[0]) })
	return group("token", "manage your API tokens: create, list, revoke", "", create, list, revoke)
}

// tokenFlags adds --scopes and --expires.
func tokenFlags(fs *pflag.FlagSet) (scopes *string, expires *time.Duration) {
	return fs.String("scopes", "", "comma-separated scopes: read, write, admin (default read,write)"),
		fs.Duration("expires", 0, "the token stops working after this long (default: never)")
}

func createToken(ctx context.Context, env *Env, out *output, do doFunc, path, name, scopes string, expires time.Duration) int {
	in := map[string]any{"name": name}
	if s := splitList(scopes); len(s) > 0 {
		in["scopes"] = s
	}
	if expires > 0 {
		in["expires_at"] = time.Now().Add(expires).UTC().Format(time.RFC3339)
	}
	var k lathe.APIToken
	if err := do(ctx, http.MethodPost, path, in, &k); err != nil {
		return fail(env, err)
	}
	if out.structured() {
		return out.print(env, k)
	}
	fmt.Fprintf(env.Stdout, "token %d %q of %s (%s; shown only now):\n%s\n", k.ID, k.Name, k.User, scopeList(k.Scopes), k.Token)
	return 0
}

func listTokens(ctx context.Context, env *Env, out *output, do doFunc, path string) int {
	var list items[*lathe.APIToken]
	if err := do(ctx, http.MethodGet, path, nil, &list); err != nil {
		return fail(env, err)
	}
	if out.structured() {
		return out.print(env, list)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tNAME\tSCOPES\tCREATED\tLAST USED\tEXPIRES")
	for _, k := range list.Items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Kind, field(k.Name), scopeList(k.Scopes),
			k.CreatedAt.Local().Format(time.DateTime), fmtTime(k.LastUsed), fmtTime(k.ExpiresAt))
	}
	tw.Flush()
	return 0
}

func scopeList(list []lathe.Scope) string {
	var s []string
	for _, sc := range list {
		s = append(s, string(sc))
	}
	return strings.Join(s, ",")
}

// teamCmd is `lathe team`: teams and their members.
func teamCmd(env *Env) *cobra.Command {
	path := func(team string) string { return "/api/v1/teams/" + url.PathEscape(team) }
	showTeam := func(out *output, tm *lathe.Team) int {
		if out.structured() {
			return out.print(env, tm)
		}
		fmt.Fprintf(env.Stdout, "team %s (id %d): %s\n", field(tm.Name), tm.ID, orNone(tm.Members))
		return 0
	}
	// oneTeam is a command answering with a team.
	oneTeam := func(use, short string, nargs int, method string, in func(pos []string) (string, any)) *cobra.Command {
		return env.leaf(use, short, func(fs *pflag.FlagSet) body {
			mk := clientFlags(fs, env)
			out := outputFlags(fs, false)
			return func(ctx context.Context, pos []string) int {
				if len(pos) != nargs {
					return badUsage
				}
				p, body := in(pos)
				var tm lathe.Team
				if err := out.wrap(mk().Do)(ctx, method, p, body, &tm); err != nil {
					return fail(env, err)
				}
				return showTeam(out, &tm)
			}
		})
	}
	create := oneTeam("create NAME", "create a team (admins)", 1, http.MethodPost, func(pos []string) (string, any) {
		return "/api/v1/teams", map[string]string{"name": pos[0]}
	})
	get := oneTeam("get NAME", "show a team and its members", 1, http.MethodGet, func(pos []string) (string, any) { return path(pos[0]), nil })
	add := oneTeam("add TEAM USER", "add a user to a team (admins)", 2, http.MethodPost, func(pos []string) (string, any) {
		return path(pos[0]) + "/members", map[string]string{"user": pos[1]}
	})
	list := env.leaf("list", "list the teams you may see (admins: all)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			var list items[string]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/teams", nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			for _, t := range list.Items {
				fmt.Fprintln(env.Stdout, field(t))
			}
			return 0
		}
	})
	del := deleteCmd(env, "delete NAME", "delete a team (admins)", 1, func(pos []string) string { return path(pos[0]) },
		func(pos []string) string { return "deleted team " + pos[0] })
	remove := deleteCmd(env, "remove TEAM USER", "remove a user from a team (admins)", 2,
		func(pos []string) string { return path(pos[0]) + "/members/" + url.PathEscape(pos[1]) },
		func(pos []string) string { return "removed " + pos[1] + " from team " + pos[0] })
	return group("team", "manage teams and their members: create, list, get, delete, add, remove, projects", "", create, list, get, del, add, remove,
		grantsCmd(env, "teams", "list the projects a team holds roles on (admins)"))
}
