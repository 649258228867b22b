package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lathe-ci/lathe/client"
)

// buildInfo is this binary's version, commit and Go version, from the
// module and VCS data the Go toolchain embeds.
func buildInfo() (version, commit, goVersion string) {
	version, commit, goVersion = "(devel)", "unknown", runtime.Version()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if v := bi.Main.Version; v != "" {
		version = v
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && commit != "unknown" {
		commit += " (modified)"
	}
	return
}

func versionCmd(env *Env) *cobra.Command {
	return env.leaf("version", "print the version of lathe, and of the server when one is reachable", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			return printVersion(ctx, env, mk())
		}
	})
}

// printVersion prints this binary's version and the server's: "unknown"
// when the server does not say (GET /api/v1/info answers 404), "not
// reachable" when it does not answer. The server's version is public, so
// no credential is needed.
func printVersion(ctx context.Context, env *Env, c *client.Client) int {
	v, commit, goV := buildInfo()
	fmt.Fprintf(env.Stdout, "lathe %s\ncommit: %s\ngo: %s %s/%s\n", v, commit, goV, runtime.GOOS, runtime.GOARCH)
	if c == nil {
		srv := env.Getenv("LATHE_SERVER")
		if srv == "" {
			srv = loadCredentials(env).Current
		}
		if srv == "" {
			srv = defaultServer
		}
		c = client.New(srv, "")
	}
	if errors.As(c.Err, new(noCredential)) {
		c.Err = nil // the version is public: asked with or without a credential
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var info struct {
		Version string `json:"version"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/v1/info", nil, &info)
	switch {
	case err == nil && info.Version != "":
		fmt.Fprintf(env.Stdout, "server: %s (%s)\n", info.Version, c.BaseURL)
	case err == nil, client.StatusOf(err) == http.StatusNotFound:
		fmt.Fprintf(env.Stdout, "server: unknown (%s)\n", c.BaseURL)
	default:
		fmt.Fprintf(env.Stdout, "server: not reachable (%s)\n", c.BaseURL)
	}
	return 0
}
