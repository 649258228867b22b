// Command bench measures Lathe on its real path — real step processes, real
// git checkouts, real commits to the database — and prints each figure beside
// a floor measured in the same run: the same work done directly, without
// Lathe. Run it from the repository:
//
//	go run ./bench                 # everything, 200 runs for (a)
//	go run ./bench -quick          # a smoke run (20 runs, one repetition)
//	go run ./bench -only a -runs 500 -cpuprofile cpu.pprof
//	go run ./bench -only throughput,fleet,lost
//
// (a) trigger → first step started, p50/p99, idle agents, SQLite and PostgreSQL;
// (b) per-step overhead of 50 `true` steps; (c) log throughput of a step
// printing 200,000 lines; (d) resident memory of an idle `lathe up`;
// (throughput) 2,000 one-step jobs drained by 8 `lathe agent` processes,
// SQLite and PostgreSQL, beside 8 plain workers doing the same checkout and
// spawn; (fleet) a `lathe server`'s memory with 1,000 simulated agents
// long-polling it; (lost) SIGKILL of an agent mid-job → attempt lost → job
// claimed again, against the lease TTL and sweep interval; (hooks) a signed
// forge push hook received → first job queued, -runs hooks, beside `git
// fetch` of the hook's one commit; (scale) 1, 2 and 3 `lathe server`
// replicas on one PostgreSQL draining -scale-jobs one-step jobs with
// -scale-agents agents (jobs/s, CPU per job of the replicas and of
// PostgreSQL), then -scale-fleet simulated agents long-polling the replicas
// (memory per replica, CPU per idle poll). (scale) runs only when named:
//
//	go run ./bench -only scale -postgres on
//
// Servers for (a)–(c) and throughput run in this process (server.New/Run,
// as `lathe up`), so a CPU profile shows the server's (and for (a)–(c) the
// embedded agents') time. Samples carry pprof labels:
// section=a-sqlite|a-postgres|b|c|d|throughput-sqlite|throughput-postgres|fleet|lost
// and part=lathe (server and agents), floor (direct baselines) or client
// (the benchmark itself). See one part of one section with, e.g.,
//
//	go tool pprof -top -tagfocus part=lathe -tagignore section=a-sqlite,a-postgres,c,d cpu.pprof
//
// Without -cpuprofile, the throughput section profiles the server over its
// drain window itself and prints where the time went (-profile-dir keeps
// the profiles). The fleet and lost sections run `lathe server` as a child
// process, and every agent outside (a)–(c) is a `lathe agent` process.
//
// It talks to 127.0.0.1 only, stops every process it starts, bounds every
// loop, and removes its temporary files.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == floorServeArg {
		os.Exit(serveLongPollFloor())
	}
	if len(os.Args) > 1 && os.Args[1] == queueFloorArg {
		os.Exit(serveQueueFloor(os.Args[2:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// embeddedAgents is the number of agents each in-process server runs, as `lathe up`.
const embeddedAgents = 2

// benchTimeout bounds a whole benchmark run.
const benchTimeout = 45 * time.Minute

type config struct {
	runs       int
	stepReps   int
	logReps    int
	quick      bool
	only       map[string]bool
	postgres   string // auto, on, off or a postgres:// URL
	jsonPath   string
	cpuProfile string
	profileDir string
	latheBin   string

	tpJobs, tpRunJobs, tpAgents int
	fleetAgents, fleetPoll      int
	lostReps                    int
	lostTTL, lostSweep          time.Duration

	scaleJobs, scaleAgents, scaleFleet int
	scaleReplicas                      []int
}

// sections are the names -only accepts, in the order they run.
var sections = []string{"a", "b", "c", "d", "throughput", "fleet", "lost", "hooks", "scale"}

// bench is what the sections share: the temp dir, the repository, the log.
type bench struct {
	cfg    config
	tmp    string
	repo   string
	commit string
	log    *slog.Logger
	out    io.Writer // progress

	projects     int
	lastProgress time.Time
	stopErrs     []string

	bin    string     // the built lathe binary, once a section needed it
	pg     *pgCluster // the throwaway PostgreSQL cluster, once a section needed it
	given  []string   // the databases made on the server given with -postgres, dropped at the end
	pgNote string     // which PostgreSQL the sections used, or why none
}

// stop stops an in-process server, keeping any error for the report.
func (b *bench) stop(in *instance) {
	if err := in.stop(); err != nil {
		b.stopErrs = append(b.stopErrs, fmt.Sprintf("stop server: %v", err))
	}
}

// project returns a fresh project name (a server given by URL may keep old ones).
func (b *bench) project() string {
	b.projects++
	return fmt.Sprintf("bench-%d-%d", os.Getpid(), b.projects)
}

// progress prints a progress line at most every two seconds.
func (b *bench) progress(format string, args ...any) {
	if time.Since(b.lastProgress) < 2*time.Second {
		return
	}
	b.lastProgress = time.Now()
	fmt.Fprintf(b.out, "  "+format+"\n", args...)
}

func (b *bench) progressDone() { b.lastProgress = time.Time{} }

// results is everything measured, as printed and as written by -json.
type results struct {
	Meta            meta                `json:"meta"`
	LatencySQLite   *latencyResult      `json:"latency_sqlite,omitempty"`
	LatencyPostgres *latencyResult      `json:"latency_postgres,omitempty"`
	PostgresNote    string              `json:"postgres_note,omitempty"`
	Steps           *stepsResult        `json:"steps,omitempty"`
	Logs            *logsResult         `json:"logs,omitempty"`
	Memory          *memoryResult       `json:"memory,omitempty"`
	Throughput      []*throughputResult `json:"throughput,omitempty"`
	ThroughputNote  string              `json:"throughput_postgres_note,omitempty"`
	Fleet           *fleetResult        `json:"fleet,omitempty"`
	Lost            *lostResult         `json:"lost,omitempty"`
	Hooks           *hooksResult        `json:"hooks,omitempty"`
	Scale           *scaleResult        `json:"scale,omitempty"`
	Errors          []string            `json:"errors,omitempty"`
}

type meta struct {
	Start      time.Time `json:"start"`
	Seconds    float64   `json:"seconds"`
	Go         string    `json:"go"`
	Platform   string    `json:"platform"`
	CPUs       int       `json:"cpus"`
	Git        string    `json:"git"`
	LoadBefore string    `json:"loadavg_before"`
	LoadAfter  string    `json:"loadavg_after"`
	Quick      bool      `json:"quick"`
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{}
	fs.IntVar(&cfg.runs, "runs", 200, "runs for (a), per database engine")
	fs.IntVar(&cfg.stepReps, "step-reps", 5, "repetitions of (b)")
	fs.IntVar(&cfg.logReps, "log-reps", 3, "repetitions of (c)")
	fs.BoolVar(&cfg.quick, "quick", false, "smoke run: 20 runs for (a), one repetition of (b) and (c), small throughput, fleet and lost")
	only := fs.String("only", "all", "sections to run, comma-separated: a (latency), b (steps), c (logs), d (memory), throughput, fleet, lost, hooks, scale; or all (all but scale)")
	fs.StringVar(&cfg.postgres, "postgres", "auto", "PostgreSQL for the sections that measure on it: auto (a throwaway cluster if binaries exist), on (require one), off, or a postgres://127.0.0.1… URL (its user makes a fresh database per section there, dropped at the end)")
	fs.StringVar(&cfg.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (server and agents included) to this file")
	fs.StringVar(&cfg.latheBin, "lathe-bin", "", "run this `lathe` binary as the child processes (agents; the server in fleet, memory, lost and scale) instead of building ./cmd/lathe, to measure another build beside this one. Sections a, b, c, hooks and throughput run their server inside the benchmark's own process, built from this tree: for those, run the benchmark from the other tree (a git worktree). --cpu-profile under -profile-dir needs a build that has it")
	fs.StringVar(&cfg.profileDir, "profile-dir", "", "keep the throughput section's server CPU profiles (throughput-ENGINE.pprof) and its agents' (agent-NAME.pprof), the fleet section's server's (fleet-server.pprof, its measured window alone in fleet-server.pprof.1) and the scale fleet's replicas' (scale-fleet-Nr-I.pprof, the window in scale-fleet-Nr-I.pprof.1) in this directory")
	fs.IntVar(&cfg.tpJobs, "tp-jobs", 2000, "throughput: one-step jobs per database engine")
	fs.IntVar(&cfg.tpRunJobs, "tp-run-jobs", 100, "throughput: jobs per run (-tp-jobs must be a multiple; a pipeline may have at most pipeline.MaxPlanJobs)")
	fs.IntVar(&cfg.tpAgents, "tp-agents", 8, "throughput: `lathe agent` processes (and floor workers)")
	fs.IntVar(&cfg.fleetAgents, "fleet-agents", 1000, "fleet: simulated agents long-polling the server")
	fs.IntVar(&cfg.fleetPoll, "fleet-poll", 25, "fleet: seconds one claim long-poll waits (the agent's --poll-wait)")
	fs.IntVar(&cfg.lostReps, "lost-reps", 5, "lost: agents killed, one after another")
	fs.DurationVar(&cfg.lostTTL, "lost-ttl", 3*time.Second, "lost: the server's lease TTL")
	fs.DurationVar(&cfg.lostSweep, "lost-sweep", 500*time.Millisecond, "lost: the server's sweep interval")
	fs.IntVar(&cfg.scaleJobs, "scale-jobs", 2000, "scale: one-step jobs per replica count (a multiple of -tp-run-jobs)")
	fs.IntVar(&cfg.scaleAgents, "scale-agents", 16, "scale: `lathe agent` processes spread over the replicas (and floor workers)")
	fs.IntVar(&cfg.scaleFleet, "scale-fleet", 10000, "scale: simulated agents long-polling the most replicas (0: none)")
	replicas := fs.String("scale-replicas", "1,2,3", "scale: the replica counts to drain with, comma-separated")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	var err error
	if cfg.scaleReplicas, err = parseReplicas(*replicas); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if cfg.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["runs"] {
			cfg.runs = 20
		}
		if !set["step-reps"] {
			cfg.stepReps = 1
		}
		if !set["log-reps"] {
			cfg.logReps = 1
		}
		quickDefaults(&cfg, set)
	}
	if cfg.runs < 1 || cfg.runs > 100_000 || cfg.stepReps < 1 || cfg.stepReps > 1000 || cfg.logReps < 1 || cfg.logReps > 100 {
		return cfg, errors.New("-runs must be 1–100000, -step-reps 1–1000, -log-reps 1–100")
	}
	if err := checkAgentFlags(cfg); err != nil {
		return cfg, err
	}
	cfg.only = map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "all":
			for _, name := range sections {
				// scale needs PostgreSQL and minutes of its own: named only.
				cfg.only[name] = name != "scale"
			}
		case slices.Contains(sections, s):
			cfg.only[s] = true
		default:
			return cfg, fmt.Errorf("-only: unknown section %q (want all or some of %s)", s, strings.Join(sections, ", "))
		}
	}
	switch cfg.postgres {
	case "auto", "on", "off":
	default:
		if err := checkLoopbackURL(cfg.postgres); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// run runs the benchmark and returns the exit code: 0 when every section
// ran and checked out (targets missed are reported, not failures), 1 when a
// section failed, 2 for bad flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, benchTimeout)
	defer cancel()
	res, err := measure(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	printReport(stdout, res)
	if cfg.jsonPath != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(cfg.jsonPath, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	if len(res.Errors) > 0 || res.Logs != nil && !res.Logs.Verified {
		return 1
	}
	return 0
}

// measure runs the selected sections. A failing section is recorded and the
// others still run.
func measure(ctx context.Context, cfg config, stderr io.Writer) (*results, error) {
	tmp, err := os.MkdirTemp("", "lathe-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	b := &bench{cfg: cfg, tmp: tmp, out: stderr, bin: cfg.latheBin,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	res := &results{Meta: meta{Start: time.Now(), Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		CPUs: runtime.NumCPU(), LoadBefore: loadavg(), Quick: cfg.quick}}
	if v, err := gitOut(ctx, "", "version"); err == nil {
		res.Meta.Git = strings.TrimSpace(strings.TrimPrefix(v, "git version"))
	}
	b.repo = tmp + "/repo"
	if b.commit, err = makeRepo(ctx, b.repo); err != nil {
		return nil, err
	}
	section := func(name, label string, fn func(context.Context) error) {
		if ctx.Err() != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("(%s) not run: %v", name, ctx.Err()))
			return
		}
		fmt.Fprintf(stderr, "bench: (%s) %s …\n", name, label)
		pprof.Do(ctx, pprof.Labels("section", label, "part", "client"), func(ctx context.Context) {
			if err := fn(ctx); err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("(%s) %s: %v", name, label, err))
			}
		})
	}
	if cfg.only["a"] {
		section("a", "a-sqlite", func(ctx context.Context) (err error) {
			res.LatencySQLite, err = benchLatency(ctx, b, "sqlite", "", cfg.runs)
			return err
		})
		section("a", "a-postgres", func(ctx context.Context) error { return postgresLatency(ctx, b, res) })
	}
	if cfg.only["b"] {
		section("b", "b", func(ctx context.Context) (err error) {
			res.Steps, err = benchSteps(ctx, b, cfg.stepReps)
			return err
		})
	}
	if cfg.only["c"] {
		section("c", "c", func(ctx context.Context) (err error) {
			res.Logs, err = benchLogs(ctx, b, cfg.logReps)
			return err
		})
	}
	if cfg.only["d"] {
		section("d", "d", func(ctx context.Context) (err error) {
			res.Memory, err = benchMemory(ctx, b)
			return err
		})
	}
	if cfg.only["throughput"] {
		for _, engine := range []string{"sqlite", "postgres"} {
			section("throughput", "throughput-"+engine, func(ctx context.Context) error {
				r, err := benchThroughput(ctx, b, engine)
				if r != nil {
					res.Throughput = append(res.Throughput, r)
				}
				res.ThroughputNote = b.pgNote
				return err
			})
		}
	}
	if cfg.only["fleet"] {
		section("fleet", "fleet", func(ctx context.Context) (err error) {
			res.Fleet, err = benchFleet(ctx, b)
			return err
		})
	}
	if cfg.only["lost"] {
		section("lost", "lost", func(ctx context.Context) (err error) {
			res.Lost, err = benchLost(ctx, b)
			return err
		})
	}
	if cfg.only["hooks"] {
		section("hooks", "hooks", func(ctx context.Context) (err error) {
			res.Hooks, err = benchHooks(ctx, b, cfg.runs)
			return err
		})
	}
	if cfg.only["scale"] {
		section("scale", "scale", func(ctx context.Context) (err error) {
			res.Scale, err = benchScale(ctx, b)
			return err
		})
	}
	if err := b.stopPostgres(); err != nil {
		res.Errors = append(res.Errors, err.Error())
	}
	res.Errors = append(res.Errors, b.stopErrs...)
	res.Meta.LoadAfter = loadavg()
	res.Meta.Seconds = time.Since(res.Meta.Start).Seconds()
	return res, nil
}

// postgresLatency runs (a) on PostgreSQL: a given server, or a throwaway
// cluster when binaries exist.
func postgresLatency(ctx context.Context, b *bench, res *results) error {
	url, err := b.postgresDB(ctx, "bench_latency")
	res.PostgresNote = b.pgNote
	if err != nil || url == "" {
		return err
	}
	res.LatencyPostgres, err = benchLatency(ctx, b, "postgres", url, b.cfg.runs)
	return err
}

// asFloor runs direct (without Lathe) work with the part=floor profile label.
func asFloor(ctx context.Context, fn func(context.Context) error) error {
	var err error
	pprof.Do(ctx, pprof.Labels("part", "floor"), func(ctx context.Context) { err = fn(ctx) })
	return err
}

// loadavg is /proc/loadavg's first three fields: how busy the machine was.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
