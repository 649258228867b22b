package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// credentials is what `lathe login` keeps (mode 0600): one session per
// server URL, each used only for its server, and the server last logged
// in to, which client commands talk to when nothing else names one.
type credentials struct {
	Current string                   `json:"current,omitempty"`
	Servers map[string]serverSession `json:"servers,omitempty"`
	// Server and Token are the file of an older lathe (one server).
	Server string `json:"server,omitempty"`
	Token  string `json:"token,omitempty"`
}

// serverSession is the session kept for one server.
type serverSession struct {
	User  string `json:"user,omitempty"`
	Token string `json:"token"`
}

// credentialsPath is LATHE_CONFIG, or lathe/credentials.json in the user's
// configuration directory.
func credentialsPath(env *Env) string {
	if p := env.Getenv("LATHE_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "lathe", "credentials.json")
}

// loadCredentials reads the credentials file; a missing or unreadable one
// is empty.
func loadCredentials(env *Env) credentials {
	var c credentials
	path := credentialsPath(env)
	if path == "" {
		return c
	}
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return credentials{}
	}
	if c.Server != "" && c.Token != "" {
		if c.Servers == nil {
			c.Servers = map[string]serverSession{}
		}
		if _, ok := c.Servers[c.Server]; !ok {
			c.Servers[c.Server] = serverSession{Token: c.Token}
		}
		if c.Current == "" {
			c.Current = c.Server
		}
		c.Server, c.Token = "", ""
	}
	return c
}

// tokenFor is the session kept for srv, or "".
func (c credentials) tokenFor(srv string) string {
	return c.Servers[serverKey(srv)].Token
}

// serverKey is the form a server URL is kept under: no trailing slash.
func serverKey(srv string) string { return strings.TrimRight(srv, "/") }

// save writes the credentials file, mode 0600.
func (c credentials) save(env *Env) error {
	path := credentialsPath(env)
	if path == "" {
		return fmt.Errorf("no configuration directory: set LATHE_CONFIG")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func loginCmd(env *Env) *cobra.Command {
	return env.leaf("login USERNAME", "log in with a username and password; later commands use the session for that server", func(fs *pflag.FlagSet) body {
		server := fs.String("server", envOr(env, "LATHE_SERVER", defaultServer), "server URL (env LATHE_SERVER)")
		fromStdin := fs.Bool("password-stdin", false, "read the password from standard input (without a prompt)")
		ca := caFileFlag(fs, env)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			line, err := readPassword(env, "Password: ", *fromStdin)
			if err != nil {
				return fail(env, fmt.Errorf("read password: %w", err))
			}
			var out struct {
				Session struct {
					Token string `json:"token"`
				} `json:"session"`
			}
			in := map[string]string{"username": pos[0], "password": line}
			srv := serverKey(*server)
			if err := newClient(srv, "", *ca).Do(ctx, http.MethodPost, "/api/v1/sessions", in, &out); err != nil {
				return fail(env, err)
			}
			creds := loadCredentials(env)
			if creds.Servers == nil {
				creds.Servers = map[string]serverSession{}
			}
			creds.Servers[srv] = serverSession{User: pos[0], Token: out.Session.Token}
			creds.Current = srv
			if err := creds.save(env); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "logged in to %s as %s\n", srv, pos[0])
			return 0
		}
	})
}

func logoutCmd(env *Env) *cobra.Command {
	return env.leaf("logout", "end the session `lathe login` kept for a server and forget it", func(fs *pflag.FlagSet) body {
		server := fs.String("server", env.Getenv("LATHE_SERVER"), "server URL (env LATHE_SERVER; default: the server of the last lathe login)")
		ca := caFileFlag(fs, env)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			creds := loadCredentials(env)
			srv := serverKey(*server)
			if srv == "" {
				srv = creds.Current
			}
			tok := creds.tokenFor(srv)
			if tok == "" {
				return fail(env, fmt.Errorf("not logged in to %s", orDefault(srv, defaultServer)))
			}
			// The server forgets the session first; a session it no
			// longer knows is forgotten here all the same.
			err := newClient(srv, tok, *ca).Do(ctx, http.MethodDelete, "/api/v1/sessions/current", nil, nil)
			delete(creds.Servers, srv)
			if creds.Current == srv {
				creds.Current = ""
			}
			if serr := creds.save(env); serr != nil {
				return fail(env, serr)
			}
			if err != nil {
				fmt.Fprintf(env.Stderr, "lathe: the server did not end the session: %s\n", printable(err.Error(), ""))
			}
			fmt.Fprintf(env.Stdout, "logged out of %s\n", srv)
			return 0
		}
	})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// readPassword reads one line: from a terminal without echoing it (after
// the prompt), or as it comes from standard input (--password-stdin,
// pipes), without its line break.
func readPassword(env *Env, prompt string, fromStdin bool) (string, error) {
	if f, ok := env.Stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.Stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		return string(b), err
	}
	line, err := env.stdinLines().ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
