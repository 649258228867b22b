package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"
)

// credentials is what `lathe login` keeps (mode 0600) for later commands.
type credentials struct {
	Server string `json:"server"`
	Token  string `json:"token"`
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

func loadCredentials(env *Env) (credentials, bool) {
	var c credentials
	path := credentialsPath(env)
	b, err := os.ReadFile(path)
	if path == "" || err != nil || json.Unmarshal(b, &c) != nil {
		return c, false
	}
	return c, true
}

// cmdLogin logs in with a username and password (read from stdin) and
// stores the session token for later commands.
func cmdLogin(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "login", "USERNAME")
	server := fs.String("server", envOr(env, "LATHE_SERVER", "http://127.0.0.1:8080"), "server URL (env LATHE_SERVER)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input (without a prompt)")
	ca := caFileFlag(fs, env)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	line, err := readPassword(env, *fromStdin)
	if err != nil {
		return fail(env, fmt.Errorf("read password: %w", err))
	}
	var out struct {
		Session struct {
			Token string `json:"token"`
		} `json:"session"`
	}
	in := map[string]string{"username": pos[0], "password": strings.TrimRight(line, "\r\n")}
	if err := newClient(*server, "", *ca).Do(ctx, http.MethodPost, "/api/v1/sessions", in, &out); err != nil {
		return fail(env, err)
	}
	path := credentialsPath(env)
	if path == "" {
		return fail(env, fmt.Errorf("no configuration directory: set LATHE_CONFIG"))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fail(env, err)
	}
	b, _ := json.Marshal(credentials{Server: *server, Token: out.Session.Token})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fail(env, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fail(env, err)
	}
	fmt.Fprintf(env.Stdout, "logged in to %s as %s\n", *server, pos[0])
	return 0
}

// readPassword reads one line: from a terminal without echoing it (after a
// prompt), or as it comes from standard input (--password-stdin, pipes).
func readPassword(env *Env, fromStdin bool) (string, error) {
	if f, ok := env.Stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.Stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return line, nil
}
