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

	lathe "github.com/lathe-ci/lathe"
)

func cmdUser(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, "Usage: lathe user create NAME [--admin] [--service] | list | update NAME [--admin=B] [--disabled=B] | passwd")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(env, "user "+sub, "")
	mk := clientFlags(fs, env)
	admin := fs.Bool("admin", false, "admin (create, update)")
	service := fs.Bool("service", false, "a service account: no password, tokens only (create)")
	disabled := fs.Bool("disabled", false, "disabled (update)")
	asJSON := fs.Bool("json", false, "print JSON")
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
		body := map[string]string{"current_password": readLine("Current password: "), "new_password": readLine("New password: ")}
		if err := c.Do(ctx, http.MethodPut, "/api/v1/users/me/password", body, nil); err != nil {
			return fail(env, err)
		}
		fmt.Fprintln(env.Stdout, "password changed; your other sessions are logged out")
		return 0
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
