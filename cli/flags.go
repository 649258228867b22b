package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lathe-ci/lathe/client"
)

// newFlags returns a flag set that prints errors and usage to env.Stderr.
func newFlags(env *Env, name, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet("lathe "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: lathe %s [flags] %s\n\nFlags:\n", name, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may come before, between or after positional
// arguments, and returns the positional ones. It returns ok=false after
// printing the problem (or the usage for -h).
func parse(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, 0, true
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// clientFlags adds --server and --token and returns a function that builds
// the client once flags are parsed. Defaults come from LATHE_SERVER and
// LATHE_TOKEN, then from `lathe login`'s credentials file, then from a
// `lathe up` data directory in the working directory.
func clientFlags(fs *flag.FlagSet, env *Env) func() *client.Client {
	server := fs.String("server", envOr(env, "LATHE_SERVER", "http://127.0.0.1:8080"), "server URL (env LATHE_SERVER)")
	token := secretString(fs, env, "token", "LATHE_TOKEN", "API token (env LATHE_TOKEN; default: ./.lathe/admin.token)")
	ca := caFileFlag(fs, env)
	return func() *client.Client {
		t, srv := *token, *server
		if c, ok := loadCredentials(env); ok && t == "" {
			t = c.Token
			if env.Getenv("LATHE_SERVER") == "" && !flagSet(fs, "server") {
				srv = c.Server
			}
		}
		if t == "" {
			if b, err := os.ReadFile(filepath.Join(".lathe", "admin.token")); err == nil {
				t = strings.TrimSpace(string(b))
			}
		}
		return newClient(srv, t, *ca)
	}
}

// caFileFlag adds --ca-file: the certificate authorities that sign an https
// server's certificate, when the system's do not.
func caFileFlag(fs *flag.FlagSet, env *Env) *string {
	return fs.String("ca-file", env.Getenv("LATHE_CA_FILE"), "PEM file of the certificate authorities to trust for an https server instead of the system's (env LATHE_CA_FILE)")
}

// newClient returns a client for srv; with caFile, it trusts only those
// authorities (a client that cannot read them fails every request, saying why).
func newClient(srv, token, caFile string) *client.Client {
	c := client.New(srv, token)
	if caFile != "" {
		if err := c.UseCA(caFile); err != nil {
			c.Err = fmt.Errorf("--ca-file: %w", err)
		}
	}
	return c
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func envOr(env *Env, key, def string) string {
	if v := env.Getenv(key); v != "" {
		return v
	}
	return def
}

// fail prints an error for a command and returns exit code 1. The error
// may quote what the server relayed, so only its line breaks stay raw.
func fail(env *Env, err error) int {
	fmt.Fprintf(env.Stderr, "lathe: %s\n", printable(err.Error(), "\n"))
	return 1
}
