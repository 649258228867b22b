package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lathe-ci/lathe/api"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/outbound"
	"github.com/lathe-ci/lathe/server"
)

func upCmd(env *Env) *cobra.Command {
	return env.leaf("up", "run a server on SQLite with embedded agents (the quickstart)", func(fs *pflag.FlagSet) body {
		return serve(fs, env, 2, false)
	})
}

func serverCmd(env *Env) *cobra.Command {
	return env.leaf("server", "run a server (SQLite or PostgreSQL)", func(fs *pflag.FlagSet) body {
		return serve(fs, env, 0, true)
	})
}

// serve declares a server's flags and returns the body that runs it until
// ctx ends or a SIGTERM or SIGINT arrives; see server.Config.DrainTimeout
// for what stopping does to running jobs.
func serve(fs *pflag.FlagSet, env *Env, defAgents int, withDB bool) body {
	cfg := server.Config{}
	fs.StringVar(&cfg.Addr, "addr", envOr(env, "LATHE_ADDR", "127.0.0.1:8080"), "listen address (env LATHE_ADDR)")
	fs.StringVar(&cfg.DataDir, "data", envOr(env, "LATHE_DATA", ".lathe"), "data directory: SQLite database, git mirrors, admin token, agent workspaces (env LATHE_DATA)")
	agents := fs.Int("agents", envInt(env, "LATHE_AGENTS", defAgents), "number of embedded agents (env LATHE_AGENTS)")
	labels := fs.String("agent-labels", env.Getenv("LATHE_AGENT_LABELS"), "comma-separated labels of the embedded agents (default: OS, arch, embedded)")
	fs.BoolVar(&cfg.AgentsRequireAuthorization, "agents-require-authorization", envBool(env, "LATHE_AGENTS_REQUIRE_AUTHORIZATION"),
		"newly registered agents get no work until an admin authorizes them (env LATHE_AGENTS_REQUIRE_AUTHORIZATION)")
	fs.DurationVar(&cfg.LeaseTTL, "lease-ttl", envDuration(env, "LATHE_LEASE_TTL", 60*time.Second),
		"how long a running attempt stays claimed without hearing from its agent before it is marked lost (env LATHE_LEASE_TTL)")
	fs.DurationVar(&cfg.SweepInterval, "sweep-interval", envDuration(env, "LATHE_SWEEP_INTERVAL", server.DefaultSweepInterval),
		"how often expired leases, overdue attempts and unroutable queued jobs are looked for (env LATHE_SWEEP_INTERVAL)")
	fs.IntVar(&cfg.InfraRetries, "infra-retries", envInt(env, "LATHE_INFRA_RETRIES", server.DefaultInfraRetries),
		"times a job whose attempt was lost runs again as a new attempt; -1 for never (env LATHE_INFRA_RETRIES)")
	fs.DurationVar(&cfg.TimeoutGrace, "timeout-grace", envDuration(env, "LATHE_TIMEOUT_GRACE", server.DefaultTimeoutGrace),
		"how long past its job's timeout an attempt may run before the server times it out (env LATHE_TIMEOUT_GRACE)")
	fs.DurationVar(&cfg.QueueTimeout, "queue-timeout", envDuration(env, "LATHE_QUEUE_TIMEOUT", server.DefaultQueueTimeout),
		"a queued job no online agent can take fails after this long; -1s for never (env LATHE_QUEUE_TIMEOUT)")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", envDuration(env, "LATHE_DRAIN_TIMEOUT", 10*time.Minute),
		"on SIGTERM, how long the embedded agents' running jobs may finish before they are handed back to run again (env LATHE_DRAIN_TIMEOUT); a second SIGTERM hands them back at once")
	fs.Int64Var(&cfg.UploadQuota, "upload-quota", envInt64(env, "LATHE_UPLOAD_QUOTA", api.DefaultUploadQuota),
		"bytes the upload archives and artifacts of one project may take, all its runs together (env LATHE_UPLOAD_QUOTA)")
	fs.Int64Var(&cfg.CacheQuota, "cache-quota", envInt64(env, "LATHE_CACHE_QUOTA", api.DefaultCacheQuota),
		"bytes the caches of one project may take; the least recently used go first (env LATHE_CACHE_QUOTA)")
	fs.DurationVar(&cfg.CacheIdle, "cache-idle", envDuration(env, "LATHE_CACHE_IDLE", api.DefaultCacheIdle),
		"a cache no job restored for this long is deleted (env LATHE_CACHE_IDLE)")
	repoNets := fs.String("allow-repo-network", env.Getenv("LATHE_ALLOW_REPO_NETWORKS"),
		"comma-separated private networks (CIDRs) whose repositories non-admins may use in project URLs (env LATHE_ALLOW_REPO_NETWORKS)")
	outboundAllow := fs.String("outbound-allow", env.Getenv("LATHE_OUTBOUND_ALLOW"),
		"comma-separated networks (CIDRs), addresses and host names that commit statuses and webhooks may reach although they are not public: loopback, private, link-local… (env LATHE_OUTBOUND_ALLOW)")
	fs.StringVar(&cfg.PublicURL, "public-url", env.Getenv("LATHE_PUBLIC_URL"),
		"the server's address as its users reach it, for the links commit statuses carry (default: the listen URL) (env LATHE_PUBLIC_URL)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", env.Getenv("LATHE_METRICS_ADDR"),
		"host:port to serve Prometheus /metrics on, apart from the API and without authentication; keep it on a private network (env LATHE_METRICS_ADDR)")
	if withDB {
		databaseURLFlag(fs, env, &cfg.DatabaseURL)
		fs.IntVar(&cfg.PostgresConns, "db-conns", envInt(env, "LATHE_DB_CONNS", server.DefaultPostgresConns),
			"connections this server opens to PostgreSQL at most, besides 3 of its own for notifications and leader election; every replica's must fit in max_connections (env LATHE_DB_CONNS)")
	}
	secretKeyFlags(fs, env, &cfg)
	proxies := (*prefixList)(&cfg.TrustedProxies)
	proxyErr := proxies.Set(env.Getenv("LATHE_TRUSTED_PROXY"))
	fs.Var(proxies, "trusted-proxy", "`CIDR` or address of a reverse proxy whose X-Forwarded-For names the client for rate limits; repeatable (env LATHE_TRUSTED_PROXY, comma-separated)")
	hideHome := executorFlags(fs, env, &cfg.Executor, &cfg.PassEnv)
	blobFlagsDone := blobStoreFlags(fs, env, &cfg)
	fs.StringVar(&cfg.TLSCert, "tls-cert", env.Getenv("LATHE_TLS_CERT"), "PEM certificate (chain) to serve HTTPS with; needs --tls-key (env LATHE_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", env.Getenv("LATHE_TLS_KEY"), "PEM private key of --tls-cert (env LATHE_TLS_KEY)")
	logLevel := fs.String("log-level", envOr(env, "LATHE_LOG_LEVEL", "info"), "debug, info, warn or error")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the server (its git and agent children not included) to this file until it exits; each SIGUSR1 ends the file and goes on in FILE.1, FILE.2 …")
	return func(ctx context.Context, pos []string) int {
		if len(pos) > 0 {
			return badUsage
		}
		if *cpuProfile != "" {
			stop, err := startCPUProfile(*cpuProfile, true)
			if err != nil {
				return fail(env, fmt.Errorf("--cpu-profile: %w", err))
			}
			defer stop()
		}
		if proxyErr != nil {
			return fail(env, fmt.Errorf("LATHE_TRUSTED_PROXY: %w", proxyErr))
		}
		var level slog.Level
		if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
			return fail(env, fmt.Errorf("--log-level: %w", err))
		}
		hideHome()
		if err := blobFlagsDone(); err != nil {
			return fail(env, err)
		}
		if cfg.InfraRetries == 0 {
			cfg.InfraRetries = -1 // the flag's 0 means none; Config's zero means the default
		}
		cfg.Agents = *agents
		for _, n := range strings.Split(*repoNets, ",") {
			if n = strings.TrimSpace(n); n == "" {
				continue
			}
			prefix, err := netip.ParsePrefix(n)
			if err != nil {
				return fail(env, fmt.Errorf("--allow-repo-network: %q is not a CIDR such as 10.1.0.0/16", n))
			}
			cfg.RepoNetworks = append(cfg.RepoNetworks, prefix)
		}
		allowed, err := outbound.ParseAllow(*outboundAllow)
		if err != nil {
			return fail(env, err)
		}
		cfg.OutboundAllow = allowed
		if *labels != "" {
			cfg.AgentLabels = strings.Split(*labels, ",")
		}
		cfg.Log = slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
		// The first SIGTERM or SIGINT drains (ends runCtx); the second stops at once.
		runCtx, drain := context.WithCancel(ctx)
		defer drain()
		hard := make(chan struct{})
		stopSignals := onSignals(ctx, func(s os.Signal) {
			cfg.Log.Info("stopping: draining the embedded agents; signal again to stop at once", "signal", s)
			drain()
		}, func(os.Signal) { close(hard) })
		defer stopSignals()
		srv, err := server.New(runCtx, cfg)
		if err != nil {
			return failServing(env, err)
		}
		served := make(chan struct{})
		defer close(served)
		go func() {
			select {
			case <-hard:
				srv.Stop()
			case <-served:
			}
		}()
		db := "SQLite in " + cfg.DataDir
		if cfg.DatabaseURL != "" {
			db = "PostgreSQL"
		}
		fmt.Fprintf(env.Stdout, "Lathe is running at %s (%s, %d embedded agents)\n", srv.URL, db, cfg.Agents)
		if cfg.Agents > 0 && srv.Isolation() == executor.IsolationNone {
			fmt.Fprintln(env.Stdout, shellWarning)
		}
		if srv.AdminToken != "" {
			fmt.Fprintf(env.Stdout, "Admin API token: %s\n(also in %s/admin.token)\n", srv.AdminToken, cfg.DataDir)
			fmt.Fprintf(env.Stdout, "Web UI: open %s/setup and paste the token to set the admin's password\n", srv.URL)
		} else {
			fmt.Fprintln(env.Stdout, adminTokenNote(cfg.DataDir))
		}
		printTry(env.Stdout, srv.URL, cfg.DataDir)
		start := time.Now()
		if err := srv.Run(runCtx); err != nil {
			return failServing(env, err)
		}
		cfg.Log.Info("stopped", "uptime", time.Since(start).Round(time.Second))
		return 0
	}
}

// adminTokenNote says where the admin token of a database set up before
// this start is: in dataDir when this machine started it first, else
// with whoever did (another replica's data directory).
func adminTokenNote(dataDir string) string {
	file := filepath.Join(dataDir, "admin.token")
	if _, err := os.Stat(file); err == nil {
		return "Admin API token: the one printed at the database's first start (also in " + file + ")"
	}
	return "Admin API token: the one printed at the database's first start, by the server that set it up\n" +
		"(not kept in " + dataDir + "; an admin can make another with `lathe token create NAME`)"
}

// failServing prints why the server could not start or stopped. What it
// could not reach there is its database or blob store, never a Lathe
// server, so a refused connection is said as it is, not as fail says it
// for the client commands ("no Lathe server answers… check --server").
func failServing(env *Env, err error) int {
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	fmt.Fprintf(env.Stderr, "lathe: %s\n", printable(err.Error(), "\n"))
	return 1
}

// printTry prints commands to try that work as printed from the directory
// the server started in: after an export of LATHE_SERVER when the server
// is not at the default address, and of LATHE_TOKEN when its admin token
// is not where client commands look (./.lathe/admin.token).
func printTry(w io.Writer, url, dataDir string) {
	var setup []string
	if strings.TrimRight(url, "/") != defaultServer {
		setup = append(setup, "LATHE_SERVER="+url)
	}
	if filepath.Clean(dataDir) != ".lathe" || !isLocal(url) {
		setup = append(setup, "LATHE_TOKEN=$(cat "+shellQuote(filepath.Join(dataDir, "admin.token"))+")")
	}
	if len(setup) > 0 {
		fmt.Fprintf(w, "First: export %s\n", strings.Join(setup, " "))
	}
	fmt.Fprintf(w, "Try: lathe project create NAME GIT_URL && lathe run NAME --follow\n")
}
func envBool(env *Env, key string) bool {
	b, _ := strconv.ParseBool(env.Getenv(key))
	return b
}

func envInt(env *Env, key string, def int) int {
	if n, err := strconv.Atoi(env.Getenv(key)); err == nil {
		return n
	}
	return def
}

func envInt64(env *Env, key string, def int64) int64 {
	if n, err := strconv.ParseInt(env.Getenv(key), 10, 64); err == nil {
		return n
	}
	return def
}

func envDuration(env *Env, key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env.Getenv(key)); err == nil {
		return d
	}
	return def
}
