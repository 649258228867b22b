// Package server assembles a running Lathe: the store, the API, the trigger
// service and any embedded agents, behind one HTTP listener. `lathe up`,
// `lathe server` and the end-to-end tests all start Lathe through it.
package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/agent"
	"github.com/lathe-ci/lathe/api"
	"github.com/lathe-ci/lathe/auth"
	"github.com/lathe-ci/lathe/blob"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/delivery"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/notify"
	"github.com/lathe-ci/lathe/outbound"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/trigger"
	"github.com/lathe-ci/lathe/web"
)

// Config says how to run a server.
type Config struct {
	// Addr is the listen address, e.g. 127.0.0.1:8080 (port 0 picks a free one).
	Addr string
	// DataDir holds the SQLite database (when DatabaseURL is empty), git
	// mirrors, the admin token and the embedded agents' workspaces.
	DataDir string
	// DatabaseURL selects PostgreSQL (postgres://…); empty means SQLite in DataDir.
	DatabaseURL string
	// PostgresConns bounds the connections the replica's pool opens to
	// PostgreSQL (0: store.DefaultPostgresConns); it opens
	// ExtraPostgresConns more of its own.
	PostgresConns int
	// Agents is the number of embedded agents to run.
	Agents      int
	AgentLabels []string
	// AgentsRequireAuthorization registers new agents unauthorized: they get
	// no work until an admin authorizes them. Embedded agents are always authorized.
	AgentsRequireAuthorization bool
	// Executor chooses where the embedded agents' steps run (zero: a
	// sandbox, as the job user "nobody" when running as root). The data
	// directory and the secret key files are hidden from every job.
	Executor executor.Options
	// PassEnv names variables of the server's environment that jobs get
	// too; nothing else of it reaches a job.
	PassEnv []string
	// Heartbeat and Grace tune the embedded agents (zero: their defaults).
	Heartbeat time.Duration
	Grace     time.Duration
	// DrainTimeout is how long, once Run's context ends, the embedded
	// agents' running jobs have to finish (the agents claim nothing new)
	// before they are stopped and handed back for a new attempt that does
	// not use up their retries. Zero hands them back at once; Stop cuts a
	// drain short.
	DrainTimeout time.Duration
	// LeaseTTL is how long an attempt stays claimed without a report from
	// its agent before the sweeper marks it lost (zero: store.DefaultLeaseTTL).
	LeaseTTL time.Duration
	// SweepInterval is how often the lease sweeper runs (zero: DefaultSweepInterval).
	SweepInterval time.Duration
	// InfraRetries is how many times a job whose attempt was lost runs
	// again as a new attempt (zero: DefaultInfraRetries; negative: never).
	InfraRetries int
	// TimeoutGrace is how long past its job's timeout a running attempt may
	// go before the server times it out (zero: DefaultTimeoutGrace).
	TimeoutGrace time.Duration
	// QueueTimeout fails a queued job that no online agent can take after
	// this long (zero: DefaultQueueTimeout; negative: never).
	QueueTimeout time.Duration
	// ChainInterval is how often finished runs are checked for pipelines
	// that follow them (zero: DefaultChainInterval); ScheduleInterval how
	// often cron schedules are checked (zero: DefaultScheduleInterval).
	ChainInterval    time.Duration
	ScheduleInterval time.Duration
	// HeadPollInterval is how often the schedule loop asks each project's
	// remote for its branch heads, in case no run or hook reported a move
	// (zero: DefaultHeadPollInterval).
	HeadPollInterval time.Duration
	// SecretKeyFile holds the keys that seal secrets (empty:
	// <DataDir>/secret.key, made on first start). SecretKey, a base64 key
	// (LATHE_SECRET_KEY), replaces it when set. OldSecretKeyFiles hold keys
	// from before a rotation, still needed until `lathe secrets reencrypt`.
	SecretKeyFile     string
	SecretKey         string
	OldSecretKeyFiles []string
	// MaxUploadBytes bounds one upload archive (the upload action) that
	// agents send; they are kept in <DataDir>/uploads (zero: api.DefaultMaxUpload).
	MaxUploadBytes int64
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client that rate limits count (empty: the peer address counts).
	TrustedProxies []netip.Prefix
	// RepoNetworks are private networks (loopback, link-local, RFC 1918…)
	// whose repositories non-admins may name in project URLs; by default
	// only admins may, so a project cannot make the server probe its network.
	RepoNetworks []netip.Prefix
	// UploadQuota bounds the uploads of one project, all its runs together
	// (zero: api.DefaultUploadQuota).
	UploadQuota int64
	// CacheQuota bounds the caches of one project, kept in
	// <DataDir>/caches, beyond which the least recently used go (zero:
	// api.DefaultCacheQuota); CacheIdle is how long a cache no job restores
	// is kept (zero: api.DefaultCacheIdle). Artifacts are kept in
	// <DataDir>/artifacts.
	CacheQuota int64
	CacheIdle  time.Duration
	// BlobStore is where uploads, artifacts, caches and tools are kept:
	// "" for directories in DataDir, or s3://BUCKET/PREFIX for an
	// S3-compatible bucket that every replica shares, reached as S3 says
	// (its Bucket and Prefix come from BlobStore).
	BlobStore string
	S3        blob.S3Options
	// MetricsAddr is where /metrics is served, apart from the API and
	// without authentication, for Prometheus to scrape ("": not served).
	MetricsAddr string
	// RetentionInterval is how often expired artifacts, logs and caches
	// are removed (zero: DefaultRetentionInterval).
	RetentionInterval time.Duration

	// TLSCert and TLSKey, PEM files, make the server answer HTTPS only.
	TLSCert, TLSKey string

	// OutboundAllow lets commit statuses and webhooks reach destinations
	// that are not public (loopback, private, link-local…): refused otherwise.
	OutboundAllow outbound.Allow
	// PublicURL is the server's address as people reach it; the statuses'
	// links to runs start with it (empty: the listen URL).
	PublicURL string
	// ForgeRepos says which forge repository a project's commit statuses
	// go to (nil: none has one).
	ForgeRepos delivery.Repos
	// DeliveryPoll is how often the delivery loop looks for due statuses
	// and webhook messages without being woken (zero: delivery.DefaultPoll).
	DeliveryPoll time.Duration

	// ProvisionInterval is how often the agent providers' loop looks at
	// the groups that have a provider without being woken by a queued job
	// (zero: provision.DefaultInterval). ProviderBinary is the lathe
	// executable the process provider starts agents with (empty: this
	// server's own, os.Executable); ProviderAgentArgs are more flags for
	// those agents (e.g. their executor's).
	ProvisionInterval time.Duration
	ProviderBinary    string
	ProviderAgentArgs []string
	// ProviderContainerBinds are more bind mounts (HOST:CONTAINER[:ro])
	// of every agent container the container provider starts.
	ProviderContainerBinds []string

	// Clock is the time of the server's scheduling decisions (leases,
	// timeouts, schedules, credential caching); nil: clock.System.
	Clock clock.Clock

	Log *slog.Logger
}

// Server is a Lathe server ready to serve.
type Server struct {
	Store *store.Store
	URL   string
	// AdminToken is the admin token issued at the database's first start,
	// "" at every later one: it is in the admin.token file for the
	// operator, and the server never reads it back.
	AdminToken string
	// API serves the REST API and the agent protocol.
	API *api.Server

	cfg    Config
	stop   chan struct{} // closed by Stop
	once   sync.Once
	ln     net.Listener
	http   *http.Server
	agents []*agent.Agent
	sweep  *sweeper
	auto   *automation
	keys   *secret.Keyring
	// cert is the server's own TLS certificate (nil over plain HTTP).
	cert *x509.Certificate
	// executor runs the embedded agents' steps (nil without agents).
	executor executor.Executor
	// deliver sends commit statuses and webhook messages.
	deliver *delivery.Loop
	// trigger starts runs; it also answers which forge repository a project has.
	trigger *trigger.Service
	// outbound is the one client for calls out of the server.
	outbound *outbound.Client
	// engine runs the embedded agents' jobs that name an image (nil when
	// none is configured or it does not answer).
	engine *executor.Engine
	// notifier carries wake-ups between replicas (nil on SQLite).
	notifier *notify.Postgres
	// lead runs the periodic duties on one replica.
	lead *leader
	// metrics are what /metrics shows; obs the part of it fed as the
	// server works.
	metrics   *metrics
	obs       *observations
	metricsLn net.Listener
	// MetricsURL is where /metrics is served ("" without Config.MetricsAddr).
	MetricsURL string
}

// newExecutor builds the embedded agents' executor; every job is kept
// from the data directory (database, keys, tokens, uploads, mirrors, the
// other jobs' workspaces), from the secret key files and from the TLS
// private key.
func (s *Server) newExecutor() (executor.Executor, error) {
	opts := s.cfg.Executor
	opts.Grace = s.cfg.Grace
	opts.Hide = append([]string{s.cfg.DataDir}, opts.Hide...)
	for _, f := range []string{s.cfg.SecretKeyFile, s.cfg.TLSKey} {
		if f != "" {
			opts.Hide = append(opts.Hide, f)
		}
	}
	opts.Hide = append(opts.Hide, s.cfg.OldSecretKeyFiles...)
	return executor.New(opts)
}

// agentClient is an embedded agent's client of this server.
func (s *Server) agentClient(token string) *client.Client {
	c := client.New(s.URL, token)
	if cfg := s.agentTLS(); cfg != nil {
		c.SetTLS(cfg)
	}
	return c
}

// Isolation says what keeps the embedded agents' jobs from the machine:
// "sandbox" or "none"; empty without embedded agents.
func (s *Server) Isolation() string {
	if s.executor == nil {
		return ""
	}
	return s.executor.Isolation()
}

// New opens the store (applying migrations), makes sure an admin token
// exists, registers the embedded agents and binds the listener. Call Run to serve.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	// Every path under the data directory is made from an absolute one:
	// git and the agents run commands in other working directories.
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	cfg.DataDir = dataDir
	l, err := listen(cfg)
	if err != nil {
		return nil, err
	}
	s, err := openAt(ctx, cfg, l)
	if err != nil {
		l.ln.Close()
		return nil, err
	}
	return s, nil
}

// openAt prepares the data directory and opens the store, then the server
// on it, listening on l.
func openAt(ctx context.Context, cfg Config, l *listening) (*Server, error) {
	if err := prepareDataDir(cfg.DataDir, cfg.DatabaseURL == ""); err != nil {
		return nil, err
	}
	if err := ignoreDataFiles(cfg.DataDir); err != nil {
		return nil, err
	}
	dsn := cfg.DatabaseURL
	if dsn == "" {
		dsn = filepath.Join(cfg.DataDir, sqliteFiles[0])
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		if cfg.DatabaseURL != "" {
			return nil, fmt.Errorf("--database-url: %w", err)
		}
		return nil, err
	}
	s, err := open(ctx, cfg, st, l)
	if err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

// open makes a server over an open store: at the database's first start
// it issues the admin token, then it opens the secret keys and sets up.
func open(ctx context.Context, cfg Config, st *store.Store, l *listening) (*Server, error) {
	st.LeaseTTL = cfg.LeaseTTL
	if cfg.Clock == nil {
		cfg.Clock = clock.System
	}
	st.SetClock(cfg.Clock)
	if cfg.DatabaseURL == "" {
		if err := narrowDataFiles(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	first, err := st.FirstStart(ctx)
	if err != nil {
		return nil, err
	}
	var adminToken string
	if first {
		if err := refuseForeignFiles(cfg); err != nil {
			return nil, err
		}
		if adminToken, err = issueAdminToken(ctx, st, cfg.DataDir); err != nil {
			return nil, err
		}
	}
	keys, err := openKeyring(ctx, cfg, st, true)
	if err != nil {
		return nil, err
	}
	s := &Server{Store: st, cfg: cfg, sweep: newSweeper(st, cfg), keys: keys, AdminToken: adminToken, stop: make(chan struct{}),
		lead: &leader{dsn: cfg.DatabaseURL, retry: DefaultLeaderRetry, log: cfg.Log}, ln: l.ln, URL: l.url, cert: l.cert}
	s.sizePool(ctx)
	if err := s.startNotifier(ctx); err != nil {
		return nil, err
	}
	if err := s.setup(ctx); err != nil {
		s.stopNotifier()
		return nil, err
	}
	return s, nil
}

func (s *Server) setup(ctx context.Context) error {
	var err error
	tr := &trigger.Service{Store: s.Store, Mirrors: &git.Mirrors{Dir: filepath.Join(s.cfg.DataDir, "git")},
		Policy: git.Policy{DataDir: s.cfg.DataDir, Allow: s.cfg.RepoNetworks}, Keys: s.keys, Log: s.cfg.Log}
	s.auto = newAutomation(tr, s.Store, s.cfg)
	// Every call out (commit statuses, webhooks, forge questions) goes
	// through one client and its address policy.
	s.trigger, s.outbound = tr, outbound.New(outbound.Options{Allow: s.cfg.OutboundAllow, UserAgent: "Lathe"})
	s.obs = newObservations()
	s.Store.SetObserver(s.obs.observeQuery)
	s.Store.SetAttemptObserver(store.AttemptObserver{Started: s.obs.attemptStarted, Ended: s.obs.attemptEnded})
	s.deliver = s.newDelivery()
	s.deliver.Observe = s.obs.observeDelivery
	s.API = api.New(s.Store, tr, s.cfg.Log)
	s.API.SetForgeClient(s.outbound.HTTP())
	s.API.RequireAgentAuthorization(s.cfg.AgentsRequireAuthorization)
	s.API.SetKeyring(s.keys)
	s.API.SetTrustedProxies(s.cfg.TrustedProxies)
	blobs, err := openBlobs(ctx, s.cfg, s.Store, s.obs.blobStore)
	if err != nil {
		s.ln.Close()
		return err
	}
	s.API.SetUploads(filepath.Join(s.cfg.DataDir, "uploads"), api.UploadLimits{MaxBytes: s.cfg.MaxUploadBytes, ProjectQuota: s.cfg.UploadQuota})
	s.API.SetUploadBlobs(blobs.uploads)
	s.API.SetDataDir(s.cfg.DataDir)
	s.API.SetResults(blobs.artifacts, blobs.caches,
		api.ResultLimits{CacheQuota: s.cfg.CacheQuota, CacheIdle: s.cfg.CacheIdle})
	s.API.SetTools(blobs.tools, 0)
	if err := s.API.CleanUploads(ctx); err != nil {
		s.ln.Close()
		return err
	}
	if err := s.API.CleanResults(); err != nil {
		s.ln.Close()
		return err
	}
	if err := blobs.removeUnfinishedTools(); err != nil {
		s.ln.Close()
		return fmt.Errorf("tools: %w", err)
	}
	s.metrics = newMetrics(s)
	s.API.Instrument(s.metrics.route)
	if err := s.listenMetrics(); err != nil {
		s.ln.Close()
		return err
	}
	s.http = &http.Server{
		// The web UI answers its pages and hands /api/… to the API.
		Handler:           s.metrics.wrap(web.New(s.API, s.cfg.Log)),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
	}
	labels := s.cfg.AgentLabels
	if len(labels) == 0 {
		labels = []string{runtime.GOOS, runtime.GOARCH, "embedded"}
	}
	hostInfo := agent.Host()
	if s.cfg.Agents > 0 {
		if s.executor, err = s.newExecutor(); err != nil {
			s.ln.Close()
			return err
		}
		hostInfo.Isolation = s.executor.Isolation()
		s.engine = s.connectEngine(ctx)
		if s.engine != nil {
			hostInfo.Container = s.engine.Name
		}
	}
	for i := 1; i <= s.cfg.Agents; i++ {
		name := fmt.Sprintf("embedded-%s-%d", hostInfo.Hostname, i)
		// The agent of this name died with the server's last life: what it
		// ran is lost, and runs again now rather than after its lease.
		if n, err := s.Store.LoseAttemptsOfAgent(ctx, name); err != nil {
			s.ln.Close()
			return err
		} else if n > 0 {
			s.cfg.Log.Warn("requeued the jobs an embedded agent ran when the server last stopped", "agent", name, "jobs", n)
		}
		token, hash := auth.NewToken(auth.PrefixAgent)
		if err := s.Store.PutAgent(ctx, &lathe.Agent{Name: name, Labels: labels, Host: hostInfo}, hash); err != nil {
			s.ln.Close()
			return err
		}
		workDir := filepath.Join(s.cfg.DataDir, "agents", fmt.Sprint(i))
		containers, err := s.containersFor(name, workDir)
		if err != nil {
			s.ln.Close()
			return err
		}
		s.agents = append(s.agents, &agent.Agent{
			Containers: containers,
			Client:     s.agentClient(token),
			Name:       name,
			WorkDir:    workDir,
			Log:        s.cfg.Log,
			Heartbeat:  s.cfg.Heartbeat,
			Grace:      s.cfg.Grace,
			Executor:   s.executor,
			PassEnv:    s.cfg.PassEnv,
			// It cannot be cut off from its server, and dies with it: no
			// lease to watch (see agent.Agent.LeaseTTL).
			LeaseTTL: -1,
		})
	}
	s.API.SetFeatures(s.features())
	return nil
}

// features are what GET /api/v1/info says this server's embedded agents
// can do.
func (s *Server) features() api.Features {
	f := api.Features{EmbeddedAgents: len(s.agents)}
	if s.executor != nil {
		f.Executor = s.executor.Isolation()
	}
	if s.engine != nil {
		f.ContainerEngine = s.engine.Name
	}
	return f
}

// dataGitignore names the files Lathe keeps in its data directory. The
// default data directory, ./.lathe, is also where a repository keeps its
// .lathe/*.yml pipelines, so running `lathe up` inside a checkout must not
// leave a database for `git add` to pick up.
const dataGitignore = `# Written by Lathe: its data files, never to be committed.
/lathe.db*
/admin.token
/secret.key
/git/
/agents/
/uploads/
/artifacts/
/caches/
`

func ignoreDataFiles(dir string) error {
	path := filepath.Join(dir, ".gitignore")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.WriteFile(path, []byte(dataGitignore), 0o644); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return nil
}

// Run serves until ctx ends, then shuts down in order: embedded agents
// first (they drain, see Config.DrainTimeout; the jobs still running are
// then stopped and handed back, and those reports still reach the server),
// then long-lived requests (log streams, long-polls) are ended, the
// listener closed, and the store closed.
func (s *Server) Run(ctx context.Context) error {
	reqCtx, endRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer endRequests()
	s.http.BaseContext = func(net.Listener) context.Context { return reqCtx }
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.http.Serve(s.ln) }()

	stopDuties := s.lead.Start(context.WithoutCancel(ctx), s.startDuties)
	stopDelivery := s.startDelivery(context.WithoutCancel(ctx))
	stopMetrics := s.serveMetrics()
	agentCtx, stopAgents := context.WithCancel(context.WithoutCancel(ctx))
	drain := make(chan struct{})
	var agents sync.WaitGroup
	for _, a := range s.agents {
		a.Drain = drain
		agents.Add(1)
		go func() {
			defer agents.Done()
			if err := a.Run(agentCtx); err != nil {
				s.cfg.Log.Error("agent stopped", "agent", a.Name, "err", err)
			}
		}()
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	s.drainAgents(drain, &agents)
	stopAgents()
	agents.Wait()
	stopDuties()
	stopDelivery()
	endRequests()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := s.http.Shutdown(shutdownCtx); serr != nil {
		s.http.Close()
	}
	if err == nil {
		if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) {
			err = serr
		}
	}
	if s.engine != nil {
		s.engine.Close()
	}
	stopMetrics()
	s.stopNotifier()
	return errors.Join(err, s.Store.Close())
}

// drainAgents stops the embedded agents claiming (closing drain) and waits
// for their running jobs to end, at most DrainTimeout or until Stop.
func (s *Server) drainAgents(drain chan struct{}, agents *sync.WaitGroup) {
	close(drain)
	done := make(chan struct{})
	go func() {
		agents.Wait()
		close(done)
	}()
	if s.cfg.DrainTimeout > 0 && len(s.agents) > 0 {
		s.cfg.Log.Info("draining: running jobs may finish; no new ones start", "timeout", s.cfg.DrainTimeout)
	}
	t := time.NewTimer(s.cfg.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.cfg.Log.Info("drain timeout: handing the running jobs back")
	case <-s.stop:
		s.cfg.Log.Info("stopping at once: handing the running jobs back")
	}
}

// Stop cuts a drain short (a second SIGTERM): the embedded agents' running
// jobs are stopped and handed back at once. It may be called at any time,
// more than once.
func (s *Server) Stop() { s.once.Do(func() { close(s.stop) }) }
