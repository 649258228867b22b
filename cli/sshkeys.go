package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// SSH keys for private repositories: the project's (or, for projects
// without one, the server's) public key goes into the repository host's
// deploy keys; the server and its agents read SSH URLs with the private
// key.

// sshKeyAnswer is what --json prints for an SSH key.
type sshKeyAnswer struct {
	Project    string `json:"project,omitempty"`
	PublicKey  string `json:"public_key"`
	KnownHosts string `json:"known_hosts,omitempty"`
}

// projectSSHKeyCmd is `lathe project ssh-key PROJECT [--rotate]`.
func projectSSHKeyCmd(env *Env) *cobra.Command {
	return env.leaf("ssh-key PROJECT", "print the project's SSH public key for its repository's deploy keys (--rotate makes a new one)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		rotate := fs.Bool("rotate", false, "replace the key pair with a new one: the old key stops working at once")
		hosts := fs.Bool("known-hosts", false, "also print the repository host keys the server trusts (trusted on first contact)")
		forget := fs.Bool("forget-known-hosts", false, "forget the host keys trusted for the repository (after its host's key changed): the next fetch trusts the key it meets")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			base := "/api/v1/projects/" + url.PathEscape(pos[0])
			method, path := http.MethodGet, base+"/ssh-key.pub"
			if *rotate {
				method, path = http.MethodPost, base+"/ssh-key/rotate"
			}
			c := mk()
			if *forget {
				if err := c.Do(ctx, http.MethodDelete, base+"/ssh-known-hosts", nil, nil); err != nil {
					return fail(env, err)
				}
				fmt.Fprintf(env.Stderr, "forgot the host keys trusted for %s\n", field(pos[0]))
			}
			pub, err := requestText(ctx, c.Request, method, path)
			if err != nil {
				return fail(env, err)
			}
			a := sshKeyAnswer{Project: pos[0], PublicKey: pub}
			if *hosts || out.structured() {
				if a.KnownHosts, err = requestText(ctx, c.Request, http.MethodGet, base+"/ssh-known-hosts"); err != nil {
					return fail(env, err)
				}
			}
			if out.structured() {
				return out.print(env, a)
			}
			fmt.Fprint(env.Stdout, a.PublicKey)
			if *hosts {
				fmt.Fprintf(env.Stdout, "# host keys trusted for %s:\n%s", pos[0], a.KnownHosts)
			}
			return 0
		}
	})
}

// sshKeyCmd is `lathe ssh-key`: the server's key.
func sshKeyCmd(env *Env) *cobra.Command {
	return env.leaf("ssh-key", "print the server's SSH public key, which reads the repositories of projects without a key of their own", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			pub, err := requestText(ctx, mk().Request, http.MethodGet, "/api/v1/ssh-key.pub")
			if err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, sshKeyAnswer{PublicKey: pub})
			}
			fmt.Fprint(env.Stdout, pub)
			return 0
		}
	})
}

// requestText makes a request whose answer is text, and returns the text.
func requestText(ctx context.Context, req func(context.Context, string, string, any, http.Header) (*http.Response, error), method, path string) (string, error) {
	resp, err := req(ctx, method, path, nil, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b), err
}
