package cli

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/lathe-ci/lathe/executor"
)

// executorFlags adds the flags that choose where an agent's steps run:
// --executor, --job-user, --job-network, --container-host, --pass-env,
// --hide and --show-home. Call the function it returns once the flags are
// parsed: it adds the home directory to what steps do not see.
func executorFlags(fs *pflag.FlagSet, env *Env, opts *executor.Options, pass *[]string) func() {
	fs.StringVar(&opts.Kind, "executor", envOr(env, "LATHE_EXECUTOR", executor.KindSandbox),
		"where steps run: sandbox (bubblewrap: only the workspace is writable, the agent's and server's files are hidden) or shell (no isolation at all) (env LATHE_EXECUTOR)")
	fs.StringVar(&opts.JobUser, "job-user", envOr(env, "LATHE_JOB_USER", "nobody"),
		"user steps run as when Lathe runs as root: a name or UID[:GID], never root (env LATHE_JOB_USER)")
	fs.StringVar(&opts.Network, "job-network", envOr(env, "LATHE_JOB_NETWORK", "shared"),
		"network of sandboxed steps: shared (the host's) or none (env LATHE_JOB_NETWORK)")
	opts.ContainerHost = envOr(env, "LATHE_CONTAINER_HOST", executor.DefaultEngineHost())
	if opts.ContainerHost == "none" {
		opts.ContainerHost = ""
	}
	fs.Var(containerHost{&opts.ContainerHost}, "container-host",
		"container engine (Docker, or Podman's Docker-compatible service) that runs jobs with an image: unix:///PATH, or none (env LATHE_CONTAINER_HOST; default DOCKER_HOST, else unix:///var/run/docker.sock; an agent whose engine does not answer runs no image jobs)")
	list := (*stringList)(pass)
	if v := env.Getenv("LATHE_PASS_ENV"); v != "" {
		*list = strings.Split(v, ",")
	}
	fs.Var(list, "pass-env", "name of a variable of this process's environment that steps get too; repeatable (env LATHE_PASS_ENV, comma-separated). Nothing else of it reaches a step")
	hide := (*stringList)(&opts.Hide)
	if v := env.Getenv("LATHE_HIDE"); v != "" {
		*hide = strings.Split(v, ",")
	}
	fs.Var(hide, "hide", "`PATH` that sandboxed steps do not see (an empty directory in its place, or for a file one no step can read), such as the data directory of a server on the same machine; repeatable (env LATHE_HIDE, comma-separated)")
	showHome := fs.Bool("show-home", env.Getenv("LATHE_SHOW_HOME") == "true",
		"let sandboxed steps read the home directory of the user Lathe runs as (hidden by default: its keys, tokens and Lathe's own logins), for a toolchain kept there (env LATHE_SHOW_HOME=true)")
	return func() {
		if home := homeDir(env); home != "" && !*showHome {
			opts.Hide = append(opts.Hide, home)
		}
	}
}

// homeDir is the home directory of the user this process runs as ("" for
// none, or for one that is the root of the file system).
func homeDir(env *Env) string {
	home := env.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	if home == "" || filepath.Clean(home) == "/" {
		return ""
	}
	return home
}

// shellWarning is printed wherever the shell executor is chosen.
const shellWarning = "WARNING: --executor shell: steps run with no isolation, as this process's user, and can read and change everything it can (its credentials, the data directory, other jobs)"

// containerHost is the --container-host flag: "none" means no engine.
type containerHost struct{ host *string }

func (c containerHost) String() string {
	if c.host == nil || *c.host == "" {
		return "none"
	}
	return *c.host
}

func (c containerHost) Type() string { return "host" }

func (c containerHost) Set(v string) error {
	if v == "none" {
		v = ""
	}
	*c.host = v
	return nil
}
