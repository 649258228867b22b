package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
)

func cmdUser(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, "Usage: lathe user create NAME [--admin] [--service] | list | update NAME [--admin=B] [--disabled=B] | passwd [--revoke-tokens] | tokens NAME | revoke-token NAME ID")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(env, "user "+sub, "")
	mk := clientFlags(fs, env)
	admin := fs.Bool("admin", false, "admin (create, update)")
	service := fs.Bool("service", false, "a service account: no password, tokens only (create)")
	disabled := fs.Bool("disabled", false, "disabled (update)")
	asJSON := fs.Bool("json", false, "print JSON")
	revokeTokens := fs.Bool("revoke-tokens", false, "also revoke your API tokens (passwd)")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c := mk()
	in := bufio.NewReader(env.Stdin)
	readLine := func(prompt string) string {
		fmt.Fprint(env.Stderr, prompt)
		l, _ := in.ReadString('\n')
		return strings.TrimRight(l, "\r\n")
	}
	var u lathe.User
	switch {
	case sub == "create" && len(pos) == 1:
		body := map[string]any{"name": pos[0], "admin": *admin, "service": *service}
		if !*service {
			body["password"] = readLine("Password for " + pos[0] + ": ")
		}
		if err := c.Do(ctx, http.MethodPost, "/api/v1/users", body, &u); err != nil {
			return fail(env, err)
		}
	case sub == "update" && len(pos) == 1:
		body := map[string]any{}
		if set["admin"] {
			body["admin"] = *admin
		}
		if set["disabled"] {
			body["disabled"] = *disabled
		}
		if err := c.Do(ctx, http.MethodPatch, "/api/v1/users/"+url.PathEscape(pos[0]), body, &u); err != nil {
			return fail(env, err)
		}
	case sub == "passwd" && len(pos) == 0:
		body := map[string]any{"current_password": readLine("Current password: "), "new_password": readLine("New password: "),
			"revoke_tokens": *revokeTokens}
		if err := c.Do(ctx, http.MethodPut, "/api/v1/users/me/password", body, nil); err != nil {
			return fail(env, err)
		}
		if *revokeTokens {
			fmt.Fprintln(env.Stdout, "password changed; your other sessions are logged out and your API tokens revoked")
		} else {
			fmt.Fprintln(env.Stdout, "password changed; your other sessions are logged out (--revoke-tokens also revokes your API tokens)")
		}
		return 0
	case sub == "tokens" && len(pos) == 1, sub == "revoke-token" && len(pos) == 2:
		return userTokens(ctx, c, env, pos, *asJSON)
	case sub == "list" && len(pos) == 0:
		var page lathe.Page[*lathe.User]
		if err := c.Do(ctx, http.MethodGet, "/api/v1/users?limit=200", nil, &page); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			json.NewEncoder(env.Stdout).Encode(page)
			return 0
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tADMIN\tSERVICE\tDISABLED")
		for _, u := range page.Items {
			fmt.Fprintf(tw, "%s\t%v\t%v\t%v\n", u.Name, u.Admin, u.Service, u.Disabled)
		}
		tw.Flush()
		return 0
	default:
		fs.Usage()
		return 2
	}
	if *asJSON {
		json.NewEncoder(env.Stdout).Encode(u)
		return 0
	}
	fmt.Fprintf(env.Stdout, "user %s (admin %v, service %v, disabled %v)\n", u.Name, u.Admin, u.Service, u.Disabled)
	return 0
}

// userTokens is an admin listing a user's tokens and sessions (pos: NAME)
// or revoking one (pos: NAME ID).
func userTokens(ctx context.Context, c *client.Client, env *Env, pos []string, asJSON bool) int {
	path := "/api/v1/users/" + url.PathEscape(pos[0]) + "/tokens"
	if len(pos) == 2 {
		if err := c.Do(ctx, http.MethodDelete, path+"/"+url.PathEscape(pos[1]), nil, nil); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "revoked token %s of %s\n", pos[1], pos[0])
		return 0
	}
	var list struct {
		Items []*lathe.APIToken `json:"items"`
	}
	if err := c.Do(ctx, http.MethodGet, path, nil, &list); err != nil {
		return fail(env, err)
	}
	if asJSON {
		return printJSON(env, list)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tNAME\tSCOPES\tCREATED\tLAST USED\tEXPIRES")
	for _, k := range list.Items {
		var scopes []string
		for _, sc := range k.Scopes {
			scopes = append(scopes, string(sc))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Kind, field(k.Name), strings.Join(scopes, ","),
			k.CreatedAt.Local().Format(time.DateTime), fmtTime(k.LastUsed), fmtTime(k.ExpiresAt))
	}
	tw.Flush()
	return 0
}
