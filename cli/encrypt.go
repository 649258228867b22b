package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/lathe-ci/lathe/secret"
)

// cmdEncrypt seals a value with a project's public key, for a pipeline
// file: only the server, holding the project's private key, can open it.
func cmdEncrypt(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "encrypt", "")
	mk := clientFlags(fs, env)
	project := fs.String("project", "", "the project whose key seals the value (required)")
	name := fs.String("name", "SECRET_NAME", "the secret's name in the printed snippet")
	valueFile := fs.String("value-file", "", "read the value from this file instead of stdin")
	raw := fs.Bool("raw", false, "print only the ciphertext")
	if pos, code, ok := parse(fs, args); !ok {
		return code
	} else if len(pos) > 0 || *project == "" {
		fs.Usage()
		return 2
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
	fmt.Fprintf(env.Stdout, "# Sealed with project %s's public key; only the Lathe server can open it.\n", *project)
	fmt.Fprintf(env.Stdout, "# Put it under the job that needs it:\nsecrets:\n  %s:\n    encrypted: %q\n", *name, text)
	return 0
}
