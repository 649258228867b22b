package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/lathe-ci/lathe/client"
)

// defaultServer is the server a client command talks to when nothing names one.
const defaultServer = "http://127.0.0.1:8080"

// clientFlags adds --server, --token and --ca-file and returns a function
// that builds the client once flags are parsed.
//
// The server is --server, else LATHE_SERVER, else the one `lathe login`
// last logged in to, else http://127.0.0.1:8080. The credential is
// --token, else LATHE_TOKEN, else the session `lathe login` keeps for that
// server (and only that one), else ./.lathe/admin.token when the server is
// on this machine. With none, every request fails with "not logged in".
func clientFlags(fs *pflag.FlagSet, env *Env) func() *client.Client {
	server := fs.String("server", env.Getenv("LATHE_SERVER"), "server URL (env LATHE_SERVER; default: the server of the last lathe login, else "+defaultServer+")")
	token := secretString(fs, env, "token", "LATHE_TOKEN", "API token (env LATHE_TOKEN; default: the login kept for the server, else ./.lathe/admin.token for a local server)")
	ca := caFileFlag(fs, env)
	return func() *client.Client {
		srv, t := *server, *token
		creds := loadCredentials(env)
		if srv == "" {
			srv = creds.Current
		}
		if srv == "" {
			srv = defaultServer
		}
		if t == "" {
			t = creds.tokenFor(srv)
		}
		if t == "" && isLocal(srv) {
			if b, err := os.ReadFile(filepath.Join(".lathe", "admin.token")); err == nil {
				t = strings.TrimSpace(string(b))
			}
		}
		c := newClient(srv, t, *ca)
		if t == "" && c.Err == nil {
			c.Err = notLoggedIn(srv)
		}
		return c
	}
}

// notLoggedIn is the error of a command that needs a credential and has none.
func notLoggedIn(srv string) error { return noCredential{srv} }

// noCredential is the error of a client that has no credential for its server.
type noCredential struct{ server string }

func (e noCredential) Error() string {
	return "not logged in to " + e.server + ": run lathe login (or give --token, or set LATHE_TOKEN)"
}

// isLocal reports whether a server URL names this machine (a loopback address).
func isLocal(srv string) bool {
	u, err := url.Parse(srv)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// caFileFlag adds --ca-file: the certificate authorities that sign an https
// server's certificate, when the system's do not.
func caFileFlag(fs *pflag.FlagSet, env *Env) *string {
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

func envOr(env *Env, key, def string) string {
	if v := env.Getenv(key); v != "" {
		return v
	}
	return def
}

// fail prints an error for a command and returns exit code 1. The error
// may quote what the server relayed, so only its line breaks stay raw.
// A command stopped by Ctrl-C prints nothing and exits 130.
func fail(env *Env, err error) int {
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	if msg := unreachable(err); msg != "" {
		fmt.Fprintf(env.Stderr, "lathe: %s\n", printable(msg, "\n"))
		return 1
	}
	fmt.Fprintf(env.Stderr, "lathe: %s\n", printable(err.Error(), "\n"))
	return 1
}

// unreachable says in words that no server answers where err could not
// connect ("" for any other error): Go's own message names a dial and a
// syscall, not what to do.
func unreachable(err error) string {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return ""
	}
	addr := ""
	if op.Addr != nil {
		addr = op.Addr.String()
	}
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		return fmt.Sprintf("cannot find the server's host %s: %v (check --server or LATHE_SERVER)", dns.Name, dns.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("no Lathe server answers at %s: connection refused (is it running? check --server or LATHE_SERVER)", addr)
	}
	return fmt.Sprintf("cannot reach the server at %s: %v (check --server or LATHE_SERVER)", addr, op.Err)
}

// boolFlag marks a flag of a custom type as taking no value (--flag means
// --flag=true), as Go's flag package did for IsBoolFlag values.
func boolFlag(fs *pflag.FlagSet, name string) {
	fs.Lookup(name).NoOptDefVal = "true"
}
