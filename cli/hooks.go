package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

const hooksUsage = `Usage:
  lathe hooks create PROJECT NAME   make a webhook token (shown once)
  lathe hooks list PROJECT          the project's webhook tokens
  lathe hooks revoke PROJECT ID     stop a token at once
A forge or script starts the project's push runs with
  curl -X POST SERVER/api/v1/hooks/TOKEN -d '{"ref": "main", "event": "push"}'`

// cmdHooks manages a project's webhook tokens.
func cmdHooks(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "hooks", "create|list|revoke PROJECT ...")
	mk := clientFlags(fs, env)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) < 2 {
		fmt.Fprintln(env.Stderr, hooksUsage)
		return 2
	}
	c := mk()
	path := "/api/v1/projects/" + url.PathEscape(pos[1]) + "/hook-tokens"
	switch {
	case pos[0] == "create" && len(pos) == 3:
		var ht lathe.HookToken
		if err := c.Do(ctx, http.MethodPost, path, map[string]string{"name": pos[2]}, &ht); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "webhook token %d (%s): %s\nIt is shown only now. POST to %s/api/v1/hooks/TOKEN to start runs.\n",
			ht.ID, ht.Name, ht.Token, c.BaseURL)
		return 0
	case pos[0] == "list" && len(pos) == 2:
		var list struct{ Items []*lathe.HookToken }
		if err := c.Do(ctx, http.MethodGet, path, nil, &list); err != nil {
			return fail(env, err)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tREVOKED")
		for _, ht := range list.Items {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", ht.ID, ht.Name, ht.CreatedAt.Local().Format(time.DateTime), fmtTime(ht.LastUsed), fmtTime(ht.RevokedAt))
		}
		tw.Flush()
		return 0
	case pos[0] == "revoke" && len(pos) == 3:
		if err := c.Do(ctx, http.MethodDelete, path+"/"+url.PathEscape(pos[2]), nil, nil); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "webhook token %s revoked\n", pos[2])
		return 0
	}
	fmt.Fprintln(env.Stderr, hooksUsage)
	return 2
}
