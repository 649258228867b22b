package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lathe-ci/lathe/agent"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/executor"
)

// cmdAgent runs an agent on this machine for a remote server. It registers
// with a registration token on first start and keeps the credential it gets
// in its work directory; later starts reuse it.
//
// Signals: the first SIGTERM or SIGINT drains the agent (the running job
// finishes, nothing new is taken, then it exits 0); a second one stops the
// running job (its process group gets SIGTERM, then SIGKILL after the grace
// period), hands it back to the server (it runs again as a new attempt that
// does not use up its retries) and the agent exits once the server has heard.
func agentCmd(env *Env) *cobra.Command {
	return env.leaf("agent", "run an agent for a server: registers with --token, then runs jobs (SIGTERM drains)", func(fs *pflag.FlagSet) body {
		return agentBody(fs, env)
	})
}

func agentBody(fs *pflag.FlagSet, env *Env) body {
	host, _ := os.Hostname()
	server := fs.String("server", envOr(env, "LATHE_SERVER", "http://127.0.0.1:8080"), "server URL, or several replicas' separated by commas, tried in that order (a host name with several addresses counts as one replica per address); the agent moves to the next when one fails (env LATHE_SERVER)")
	token := secretString(fs, env, "token", "LATHE_REGISTRATION_TOKEN", "registration token, needed on first start only (env LATHE_REGISTRATION_TOKEN)")
	name := fs.String("name", envOr(env, "LATHE_AGENT_NAME", host), "agent name, unique on the server (env LATHE_AGENT_NAME)")
	labels := fs.String("labels", envOr(env, "LATHE_AGENT_LABELS", runtime.GOOS+","+runtime.GOARCH), "comma-separated labels jobs route by (env LATHE_AGENT_LABELS)")
	workDir := fs.String("work-dir", envOr(env, "LATHE_AGENT_DIR", ".lathe-agent"), "work directory: credential, workspaces, git mirrors, log spool (env LATHE_AGENT_DIR)")
	heartbeat := fs.Duration("heartbeat", 0, "how often a running job reports (default 10s)")
	grace := fs.Duration("grace", 0, "time a canceled step has between SIGTERM and SIGKILL (default 10s)")
	pollWait := fs.Int("poll-wait", 25, "seconds one claim request waits for work (1–60)")
	logLevel := fs.String("log-level", envOr(env, "LATHE_LOG_LEVEL", "info"), "debug, info, warn or error")
	oneShot := fs.Bool("one-shot", false, "run one job, then exit (an agent provider's one_shot: every job gets a fresh agent)")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the agent (its children not included) to this file until it exits")
	procs := fs.Int("procs", 1, "how many threads run the agent's own Go code at once (0: one per CPU; the GOMAXPROCS variable wins when set). The agent runs one job at a time and its steps are processes of their own, which this does not limit; one thread spares the Go scheduler handing work between threads (a sixth of an idle-waiting agent's CPU)")
	ca := caFileFlag(fs, env)
	var exOpts executor.Options
	var passEnv []string
	hideHome := executorFlags(fs, env, &exOpts, &passEnv)
	return func(ctx context.Context, pos []string) int {
		if len(pos) > 0 {
			return badUsage
		}
		var level slog.Level
		if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
			return fail(env, fmt.Errorf("--log-level: %w", err))
		}
		log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
		if *procs < 0 {
			return fail(env, fmt.Errorf("--procs: %d is negative", *procs))
		}
		if *procs > 0 && os.Getenv("GOMAXPROCS") == "" {
			runtime.GOMAXPROCS(*procs)
		}
		if *cpuProfile != "" {
			stop, err := startCPUProfile(*cpuProfile, false)
			if err != nil {
				return fail(env, fmt.Errorf("--cpu-profile: %w", err))
			}
			defer stop()
		}
		dir, err := filepath.Abs(*workDir)
		if err != nil {
			return fail(env, err)
		}
		// The work directory holds the agent's credential, log spools and
		// every job's workspace: no step sees it (its own workspace aside).
		hideHome()
		exOpts.Hide, exOpts.Grace = append(exOpts.Hide, dir), *grace
		ex, err := executor.New(exOpts)
		if err != nil {
			return fail(env, err)
		}
		if ex.Isolation() == executor.IsolationNone {
			log.Warn(shellWarning)
		}
		var ls []string
		for _, l := range strings.Split(*labels, ",") {
			if l = strings.TrimSpace(l); l != "" {
				ls = append(ls, l)
			}
		}

		ctx, cancelJobs := context.WithCancel(ctx)
		defer cancelJobs()
		drain := make(chan struct{})
		stopSignals := onSignals(ctx, func(s os.Signal) {
			log.Info("draining: finishing the running job, taking no more; signal again to stop it and hand it back", "signal", s)
			close(drain)
		}, func(s os.Signal) {
			log.Info("stopping the running job and handing it back", "signal", s)
			cancelJobs()
		})
		defer stopSignals()

		h := agent.Host()
		h.Isolation = ex.Isolation()
		containers := connectContainers(ctx, exOpts, *name, dir, log)
		if containers != nil {
			defer containers.Engine.Close()
			h.Container = containers.Engine.Name
		}
		regCtx, stopReg := context.WithCancel(ctx)
		go func() {
			select {
			case <-drain: // a signal during registration stops it
				stopReg()
			case <-regCtx.Done():
			}
		}()
		reg := agent.Registration{Server: *server, Token: *token, Name: *name, Labels: ls, Host: h}
		if *ca != "" {
			if reg.TLS, err = client.CAConfig(*ca); err != nil {
				return fail(env, fmt.Errorf("--ca-file: %w", err))
			}
		}
		cred, err := agent.Credential(regCtx, dir, reg, log)
		// Read before stopReg, which cancels regCtx: only a signal that came
		// during registration makes a failure to register a clean exit.
		signaled := regCtx.Err() != nil
		stopReg()
		if err != nil {
			if signaled && errors.Is(err, context.Canceled) {
				log.Info("stopped by a signal before registering")
				return 0
			}
			return fail(env, err)
		}
		name, ls, err := agentIdentity(fs, env, dir, reg, log)
		if err != nil {
			return fail(env, err)
		}
		if containers != nil {
			containers.Agent = name // the name its earlier lives labelled containers with
		}
		c, err := client.NewServers(ctx, []string{*server}, cred, nil)
		if err != nil {
			return fail(env, fmt.Errorf("--server: %w", err))
		}
		if reg.TLS != nil {
			c.SetTLS(reg.TLS)
		}
		agent.SendHostInfo(c, h)
		a := &agent.Agent{
			Client: c, Name: name, WorkDir: dir, Log: log,
			Heartbeat: *heartbeat, Grace: *grace, PollWait: min(max(*pollWait, 1), 60),
			Drain: drain, Executor: ex, Containers: containers, PassEnv: passEnv, OneShot: *oneShot,
		}
		log.Info("agent running", "agent", name, "servers", c.Servers().URLs(), "labels", ls, "work_dir", dir, "isolation", ex.Isolation())
		start := time.Now()
		if err := a.Run(ctx); err != nil {
			return fail(env, err)
		}
		log.Info("agent stopped", "agent", name, "uptime", time.Since(start).Round(time.Second))
		return 0
	}
}

// agentIdentity is the name and labels the agent runs under: those the
// server registered it with (see agent.Registered), whatever --name and
// --labels say, which are warned about when they were set and differ. An
// agent registered before its identity was kept runs under reg's.
func agentIdentity(fs *pflag.FlagSet, env *Env, dir string, reg agent.Registration, log *slog.Logger) (string, []string, error) {
	asked := reg
	if !fs.Changed("name") && env.Getenv("LATHE_AGENT_NAME") == "" {
		asked.Name = ""
	}
	if !fs.Changed("labels") && env.Getenv("LATHE_AGENT_LABELS") == "" {
		asked.Labels = nil
	}
	id, ok, err := agent.Registered(dir, asked, log)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		log.Warn("this agent registered before Lathe kept its registered name and labels: it runs as --name says, and jobs route by the labels the server has",
			"agent", reg.Name, "labels", reg.Labels, "check", "lathe agents get "+reg.Name)
		return reg.Name, reg.Labels, nil
	}
	return id.Name, id.Labels, nil
}
