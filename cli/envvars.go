package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"

	lathe "github.com/lathe-ci/lathe"
)

const envVarsUsage = `Usage:
  lathe envvars list PROJECT ENV
  lathe envvars set PROJECT ENV NAME [--secret] [--value-file F]   (the value comes from stdin unless --value-file)
  lathe envvars delete PROJECT ENV NAME
An environment's variables and secrets reach only the jobs that deploy to it
(environment: ENV, or its deployments' deploy runs), once past its gate, and
override the project's of the same name. A secret's value is never printed.`

// cmdEnvVars manages the variables and secrets of an environment.
func cmdEnvVars(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, envVarsUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(env, "envvars "+sub, "PROJECT ENV [NAME]")
	mk := clientFlags(fs, env)
	secret := fs.Bool("secret", false, "set: seal the value as a secret (never printed again)")
	valueFile := fs.String("value-file", "", "set: read the value from this file instead of stdin")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) < 2 {
		fmt.Fprintln(env.Stderr, envVarsUsage)
		return 2
	}
	base := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/environments/" + url.PathEscape(pos[1]) + "/variables"
	c := mk()
	switch {
	case sub == "list" && len(pos) == 2:
		var list struct {
			Items []*lathe.EnvironmentVariable `json:"items"`
		}
		if err := c.Do(ctx, http.MethodGet, base, nil, &list); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, list)
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
	case sub == "set" && len(pos) == 3:
		value, err := readValue(env, *valueFile)
		if err != nil {
			return fail(env, err)
		}
		var v lathe.EnvironmentVariable
		if err := c.Do(ctx, http.MethodPut, base+"/"+url.PathEscape(pos[2]), map[string]any{"value": value, "secret": *secret}, &v); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, v)
		}
		kind := "variable"
		if v.Secret {
			kind = "secret"
		}
		fmt.Fprintf(env.Stdout, "%s %s of %s set\n", kind, field(v.Name), field(pos[1]))
		return 0
	case sub == "delete" && len(pos) == 3:
		if err := c.Do(ctx, http.MethodDelete, base+"/"+url.PathEscape(pos[2]), nil, nil); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "%s of %s deleted\n", field(pos[2]), field(pos[1]))
		return 0
	}
	fmt.Fprintln(env.Stderr, envVarsUsage)
	return 2
}
