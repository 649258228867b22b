package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/server"
)

const secretsUsage = `Usage:
  lathe secrets set [--project P] [--value-file F] NAME   (the value comes from stdin unless --value-file)
  lathe secrets list [--project P]
  lathe secrets get [--project P] NAME
  lathe secrets delete [--project P] NAME
  lathe secrets reencrypt [--data D] [--database-url URL] [--secret-key-file F] [--old-secret-key-file F]...
  lathe secrets grant|revoke|protect ...   (who may have a secret; lathe secrets protect -h)
Without --project, a secret is global: the jobs of the projects it is granted to
(lathe secrets grant) get it, unless the project has its own of that name. Values are never printed, and never
taken from the command line (where other users could see them).
reencrypt works on the database directly: after a key rotation (the new key
first in the key file, or the old one given with --old-secret-key-file) it
seals every stored value under the new key, so the old key can be dropped.`

func cmdSecrets(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, secretsUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "reencrypt":
		return cmdReencrypt(ctx, args, env)
	case "grant", "revoke", "protect":
		return cmdSecretRules(ctx, sub, args, env)
	}
	fs := newFlags(env, "secrets "+sub, "NAME")
	mk := clientFlags(fs, env)
	project := fs.String("project", "", "the project (name or ID); empty: global secrets")
	valueFile := fs.String("value-file", "", "set: read the value from this file instead of stdin")
	asJSON := fs.Bool("json", false, "print JSON")
	kind := fs.String("kind", "", "set: env (the value in the variable) or file (a private file, its path in the variable); empty: env for a new secret, unchanged otherwise")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	base := "/api/v1/secrets"
	if *project != "" {
		base = "/api/v1/projects/" + url.PathEscape(*project) + "/secrets"
	}
	c := mk()
	switch {
	case sub == "set" && len(pos) == 1:
		value, err := readValue(env, *valueFile)
		if err != nil {
			return fail(env, err)
		}
		var sec lathe.Secret
		body := map[string]string{"value": value}
		if *kind != "" {
			body["kind"] = *kind
		}
		if err := c.Do(ctx, http.MethodPut, base+"/"+url.PathEscape(pos[0]), body, &sec); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, sec)
		}
		fmt.Fprintf(env.Stdout, "secret %s set%s\n", sec.Name, scopeNote(sec.Project))
		return 0
	case sub == "list" && len(pos) == 0:
		var list struct {
			Items []*lathe.Secret `json:"items"`
		}
		if err := c.Do(ctx, http.MethodGet, base, nil, &list); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, list.Items)
		}
		printSecrets(env, list.Items)
		return 0
	case sub == "get" && len(pos) == 1:
		var sec lathe.Secret
		if err := c.Do(ctx, http.MethodGet, base+"/"+url.PathEscape(pos[0]), nil, &sec); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, sec)
		}
		printSecrets(env, []*lathe.Secret{&sec})
		return 0
	case sub == "delete" && len(pos) == 1:
		if err := c.Do(ctx, http.MethodDelete, base+"/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "deleted secret %s%s\n", pos[0], scopeNote(*project))
		return 0
	}
	fmt.Fprintln(env.Stderr, secretsUsage)
	return 2
}

func scopeNote(project string) string {
	if project == "" {
		return " (global)"
	}
	return " in project " + project
}

// readValue reads a secret's value from a file or stdin. One trailing
// newline (as `echo` or an editor leaves) is not part of the value.
func readValue(env *Env, file string) (string, error) {
	var b []byte
	var err error
	if file != "" {
		b, err = os.ReadFile(file)
	} else {
		b, err = io.ReadAll(io.LimitReader(env.Stdin, 1<<20))
	}
	if err != nil {
		return "", fmt.Errorf("read the value: %w", err)
	}
	v := string(b)
	if trimmed, ok := strings.CutSuffix(v, "\n"); ok && !strings.Contains(trimmed, "\n") {
		v = strings.TrimSuffix(trimmed, "\r")
	}
	if v == "" {
		return "", fmt.Errorf("no value: pipe it on stdin or give --value-file")
	}
	return v, nil
}

func printSecrets(env *Env, items []*lathe.Secret) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPE\tUPDATED\tBY\tKEY ID\tWHO GETS IT")
	for _, s := range items {
		scope := "global"
		if s.Project != "" {
			scope = s.Project
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, scope, s.UpdatedAt.Local().Format("2006-01-02 15:04"), s.UpdatedBy, s.KeyID, secretAccess(s))
	}
	tw.Flush()
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// secretKeyFlags adds the flags that say where the server's secret keys
// are. The key itself is never a flag (command lines are visible to other
// users): it is the key file, or LATHE_SECRET_KEY.
func secretKeyFlags(fs *flag.FlagSet, env *Env, cfg *server.Config) {
	secretVar(fs, env, &cfg.SecretKeyFile, "secret-key-file", "LATHE_SECRET_KEY_FILE",
		"file holding the key that encrypts secrets, one base64 key a line: the current key first, then old keys (env LATHE_SECRET_KEY_FILE; default DATA/secret.key, made on first start; env LATHE_SECRET_KEY gives the key itself instead)")
	old := (*stringList)(&cfg.OldSecretKeyFiles)
	if v := env.Getenv("LATHE_OLD_SECRET_KEY_FILES"); v != "" {
		*old = strings.Split(v, ",")
	}
	fs.Var(old, "old-secret-key-file", "file with an old key still needed to open secrets sealed before a rotation; repeatable (env LATHE_OLD_SECRET_KEY_FILES, comma-separated)")
	cfg.SecretKey = env.Getenv("LATHE_SECRET_KEY")
}

func cmdReencrypt(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "secrets reencrypt", "")
	cfg := server.Config{}
	fs.StringVar(&cfg.DataDir, "data", envOr(env, "LATHE_DATA", ".lathe"), "data directory (env LATHE_DATA)")
	databaseURLFlag(fs, env, &cfg.DatabaseURL)
	secretKeyFlags(fs, env, &cfg)
	if pos, code, ok := parse(fs, args); !ok {
		return code
	} else if len(pos) > 0 {
		fs.Usage()
		return 2
	}
	n, err := server.Reencrypt(ctx, cfg)
	if err != nil {
		return fail(env, err)
	}
	fmt.Fprintf(env.Stdout, "re-encrypted %d stored values under the current key; old keys are no longer needed\n", n)
	return 0
}
