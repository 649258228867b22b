package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lathe-ci/lathe/secret"
)

// validSecretName is the rule pipeline files hold secret names to.
var validSecretName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// cmdEncrypt seals a value with a project's public key, for a pipeline
// file: only the server, holding the project's private key, can open it.
func encryptCmd(env *Env) *cobra.Command {
	return env.leaf("encrypt --project P", "encrypt a value with a project's public key for its pipeline file", func(fs *pflag.FlagSet) body {
		return encryptBody(fs, env)
	})
}

func encryptBody(fs *pflag.FlagSet, env *Env) body {
	mk := clientFlags(fs, env)
	project := fs.String("project", "", "the project whose key seals the value (required)")
	name := fs.String("name", "SECRET_NAME", "the secret's name in the printed snippet")
	valueFile := fs.String("value-file", "", "read the value from this file instead of stdin")
	raw := fs.Bool("raw", false, "print only the ciphertext")
	return func(ctx context.Context, pos []string) int {
		if len(pos) > 0 || *project == "" {
			return badUsage
		}
		if !validSecretName().MatchString(*name) {
			return fail(env, fmt.Errorf("--name %q is not a valid secret name: start with a letter or '_', then use letters, digits or '_'", *name))
		}
		value, err := readValue(env, *valueFile)
		if err != nil {
			return fail(env, err)
		}
		if len([]rune(value)) < secret.MinLength {
			return fail(env, fmt.Errorf("the value is too short to mask in logs: a secret needs at least %d characters", secret.MinLength))
		}
		resp, err := mk().Request(ctx, http.MethodGet, "/api/v1/projects/"+url.PathEscape(*project)+"/key.pub", nil, nil)
		if err != nil {
			return fail(env, err)
		}
		pem, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err != nil {
			return fail(env, err)
		}
		pub, err := secret.ParsePublicKeyPEM(pem)
		if err != nil {
			return fail(env, fmt.Errorf("project %s: %w", *project, err))
		}
		text, err := secret.EncryptForProject(pub, []byte(value))
		if err != nil {
			return fail(env, err)
		}
		if *raw {
			fmt.Fprintln(env.Stdout, text)
			return 0
		}
		// The snippet is the map form of a job's `secrets:` (pipeline/secrets.go),
		// ready to paste under the job; its other secrets join it as NAME: stored.
		fmt.Fprintf(env.Stdout, "# Sealed with project %s's public key; only the Lathe server can open it.\n", *project)
		fmt.Fprintln(env.Stdout, "# Put it under the job that needs it; list the job's stored secrets beside it as NAME: stored.")
		fmt.Fprintf(env.Stdout, "secrets:\n  %s:\n    encrypted: %q\n", *name, text)
		return 0
	}
}
