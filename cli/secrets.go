package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/server"
)

const secretsLong = `Without --project, a secret is global: the jobs of the projects it is granted to
(lathe secrets grant) get it, unless the project has its own of that name. Values are never printed, and never
taken from the command line (where other users could see them).
reencrypt works on the database directly: after a key rotation (the new key
first in the key file, or the old one given with --old-secret-key-file) it
seals every stored value under the new key, so the old key can be dropped.`

func secretsCmd(env *Env) *cobra.Command {
	// secretFlags adds the flags every secret command has.
	secretFlags := func(fs *pflag.FlagSet) (mk func() *client.Client, base func() string, project *string) {
		mk = clientFlags(fs, env)
		project = fs.String("project", "", "the project (name or ID); empty: global secrets")
		return mk, func() string {
			if *project != "" {
				return "/api/v1/projects/" + url.PathEscape(*project) + "/secrets"
			}
			return "/api/v1/secrets"
		}, project
	}
	set := env.leaf("set NAME", "set a secret (the value comes from stdin unless --value-file)", func(fs *pflag.FlagSet) body {
		mk, base, _ := secretFlags(fs)
		valueFile := fs.String("value-file", "", "read the value from this file instead of stdin")
		kind := fs.String("kind", "", "env (the value in the variable) or file (a private file, its path in the variable); empty: env for a new secret, unchanged otherwise")
		onlyNew := fs.Bool("new", false, "only create: refuse, changing nothing, when the secret exists")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			value, err := readValue(env, *valueFile)
			if err != nil {
				return fail(env, err)
			}
			var sec lathe.Secret
			in := map[string]string{"value": value}
			if *kind != "" {
				in["kind"] = *kind
			}
			method, path := http.MethodPut, base()+"/"+url.PathEscape(pos[0])
			if *onlyNew {
				method, path = http.MethodPost, base()
				in["name"] = pos[0]
			}
			if err := out.wrap(mk().Do)(ctx, method, path, in, &sec); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, sec)
			}
			fmt.Fprintf(env.Stdout, "secret %s set%s\n", sec.Name, scopeNote(sec.Project))
			return 0
		}
	})
	list := env.leaf("list", "list secrets (names and who gets them, never values)", func(fs *pflag.FlagSet) body {
		mk, base, _ := secretFlags(fs)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			var list items[*lathe.Secret]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, base(), nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			printSecrets(env, list.Items)
			return 0
		}
	})
	get := env.leaf("get NAME", "show a secret (never its value)", func(fs *pflag.FlagSet) body {
		mk, base, _ := secretFlags(fs)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var sec lathe.Secret
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, base()+"/"+url.PathEscape(pos[0]), nil, &sec); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, sec)
			}
			printSecrets(env, []*lathe.Secret{&sec})
			return 0
		}
	})
	del := env.leaf("delete NAME", "delete a secret", func(fs *pflag.FlagSet) body {
		mk, base, project := secretFlags(fs)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			if err := mk().Do(ctx, http.MethodDelete, base()+"/"+url.PathEscape(pos[0]), nil, nil); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "deleted secret %s%s\n", pos[0], scopeNote(*project))
			return 0
		}
	})
	return group("secrets", "manage secrets (set, list, get, delete; grant, revoke, protect; reencrypt after a key rotation)", secretsLong,
		set, list, get, del, secretRuleCmd(env, "grant"), secretRuleCmd(env, "revoke"), secretRuleCmd(env, "protect"), reencryptCmd(env))
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
	fmt.Fprintln(tw, "NAME\tKIND\tSCOPE\tUPDATED\tBY\tKEY ID\tWHO GETS IT")
	for _, s := range items {
		scope := "global"
		if s.Project != "" {
			scope = s.Project
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Kind, scope, s.UpdatedAt.Local().Format("2006-01-02 15:04"), s.UpdatedBy, s.KeyID, secretAccess(s))
	}
	tw.Flush()
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }
func (l *stringList) Type() string       { return "strings" }

// secretKeyFlags adds the flags that say where the server's secret keys
// are. The key itself is never a flag (command lines are visible to other
// users): it is the key file, or LATHE_SECRET_KEY.
func secretKeyFlags(fs *pflag.FlagSet, env *Env, cfg *server.Config) {
	secretVar(fs, env, &cfg.SecretKeyFile, "secret-key-file", "LATHE_SECRET_KEY_FILE",
		"file holding the key that encrypts secrets, one base64 key a line: the current key first, then old keys (env LATHE_SECRET_KEY_FILE; default DATA/secret.key, made on first start; env LATHE_SECRET_KEY gives the key itself instead)")
	old := (*stringList)(&cfg.OldSecretKeyFiles)
	if v := env.Getenv("LATHE_OLD_SECRET_KEY_FILES"); v != "" {
		*old = strings.Split(v, ",")
	}
	fs.Var(old, "old-secret-key-file", "file with an old key still needed to open secrets sealed before a rotation; repeatable (env LATHE_OLD_SECRET_KEY_FILES, comma-separated)")
	cfg.SecretKey = env.Getenv("LATHE_SECRET_KEY")
}

func reencryptCmd(env *Env) *cobra.Command {
	return env.leaf("reencrypt", "seal every stored value under the current key after a key rotation (works on the database directly)", func(fs *pflag.FlagSet) body {
		cfg := &server.Config{}
		fs.StringVar(&cfg.DataDir, "data", envOr(env, "LATHE_DATA", ".lathe"), "data directory (env LATHE_DATA)")
		databaseURLFlag(fs, env, &cfg.DatabaseURL)
		secretKeyFlags(fs, env, cfg)
		return func(ctx context.Context, pos []string) int {
			if len(pos) > 0 {
				return badUsage
			}
			n, err := server.Reencrypt(ctx, *cfg)
			if err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "re-encrypted %d stored values under the current key; old keys are no longer needed\n", n)
			return 0
		}
	})
}
