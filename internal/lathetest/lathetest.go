// Package lathetest starts real Lathe servers with real agents and makes
// real git repositories, so end-to-end tests read like stories.
package lathetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/blob"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/delivery"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/outbound"
	"github.com/lathe-ci/lathe/server"
)

// Repo creates a git repository holding files (path → content) in one
// commit on branch main, and returns its directory.
func Repo(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	Git(tb, dir, "init", "-q", "-b", "main")
	Commit(tb, dir, files)
	return dir
}

// Commit writes files into the repository and commits them; it returns the commit ID.
func Commit(tb testing.TB, dir string, files map[string]string) string {
	tb.Helper()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	Git(tb, dir, "add", "-A")
	Git(tb, dir, "-c", "user.email=test@lathe.invalid", "-c", "user.name=test", "commit", "-q", "--allow-empty", "-m", "test commit")
	return strings.TrimSpace(Git(tb, dir, "rev-parse", "HEAD"))
}

// Git runs git in dir and returns its output.
func Git(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// Lathe is a running server with embedded agents.
type Lathe struct {
	*server.Server
	Client  *client.Client
	DataDir string
	// AdminToken is the admin's token as the operator has it (see the
	// function AdminToken); Server.AdminToken is "" after a restart.
	AdminToken string
	stop       func()
}

// Options tune Start. The zero value is SQLite in a temp dir with 2 agents.
type Options struct {
	DataDir     string // reuse a data directory (to test restarts)
	DatabaseURL string
	Agents      int // 0 means 2; -1 means none
	Grace       time.Duration
	Heartbeat   time.Duration
	// TrustedProxies may set X-Forwarded-For (server.Config.TrustedProxies).
	TrustedProxies []netip.Prefix
	// TLSCert and TLSKey serve HTTPS; CAFile is what the test's client trusts.
	TLSCert, TLSKey, CAFile string
	// Executor chooses the embedded agents' executor (zero: the sandbox).
	Executor    executor.Options
	UploadQuota int64 // bytes of uploads per project (0: the server's default)
	CacheQuota  int64 // bytes of caches per project (0: the server's default)
	// Clock is the server's clock (nil: the system's): retention, webhook
	// retries and every time the server records read it.
	Clock clock.Clock
	// RepoNetworks are private networks non-admins' project URLs may reach.
	RepoNetworks []netip.Prefix
	// Log also receives the server's log (it always goes to the test log).
	Log io.Writer
	// OutboundAllow, PublicURL, ForgeRepos and DeliveryPoll set the
	// server's commit statuses and webhooks (see server.Config).
	OutboundAllow outbound.Allow
	PublicURL     string
	ForgeRepos    delivery.Repos
	DeliveryPoll  time.Duration
	// MetricsAddr serves /metrics (server.Config.MetricsAddr).
	MetricsAddr string
	// ProviderBinary and ProvisionInterval set the agent providers (see
	// server.Config): a test passes Binary's lathe.
	ProviderBinary    string
	ProvisionInterval time.Duration
	// ProviderContainerBinds are more bind mounts of the container
	// provider's agents (see server.Config).
	ProviderContainerBinds []string
	// BlobStore and S3 say where the server keeps its blobs (see server.Config).
	BlobStore string
	S3        blob.S3Options
	// PassEnv names variables of the test's environment the embedded
	// agents' jobs get too (server.Config.PassEnv).
	PassEnv []string
	// ScheduleInterval is how often the schedule loop reads the default
	// branches' pipelines (server.Config.ScheduleInterval; default 30s).
	ScheduleInterval time.Duration
}

// Start starts a server on 127.0.0.1 and stops it when the test ends (or
// when Stop is called).
func Start(tb testing.TB, o Options) *Lathe {
	tb.Helper()
	if o.DataDir == "" {
		o.DataDir = tb.TempDir()
	}
	switch o.Agents {
	case 0:
		o.Agents = 2
	case -1:
		o.Agents = 0
	}
	if o.Grace == 0 {
		o.Grace = 2 * time.Second
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 500 * time.Millisecond
	}
	o.Executor = Executor(tb, o.Executor)
	var logTo io.Writer = testWriter{tb}
	if o.Log != nil {
		logTo = io.MultiWriter(logTo, o.Log)
	}
	l := run(tb, server.Config{
		Addr: "127.0.0.1:0", DataDir: o.DataDir, DatabaseURL: o.DatabaseURL, Agents: o.Agents,
		Grace: o.Grace, Heartbeat: o.Heartbeat, UploadQuota: o.UploadQuota, RepoNetworks: o.RepoNetworks,
		Executor: o.Executor, TLSCert: o.TLSCert, TLSKey: o.TLSKey, TrustedProxies: o.TrustedProxies,
		OutboundAllow: o.OutboundAllow, PublicURL: o.PublicURL, ForgeRepos: o.ForgeRepos, DeliveryPoll: o.DeliveryPoll, Clock: o.Clock,
		CacheQuota: o.CacheQuota, MetricsAddr: o.MetricsAddr, ProviderBinary: o.ProviderBinary, ProvisionInterval: o.ProvisionInterval,
		BlobStore: o.BlobStore, S3: o.S3, ProviderContainerBinds: o.ProviderContainerBinds, PassEnv: o.PassEnv,
		ScheduleInterval: o.ScheduleInterval,
		Log:              slog.New(slog.NewTextHandler(logTo, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, o.CAFile)
	return l
}

// StartConfig starts a server with cfg as it is, for the settings Options
// does not carry (leases, sweeps, retries), on 127.0.0.1 in a temporary
// data directory unless cfg names them, with the test's executor (see
// Executor), logging warnings to the test; it stops it when the test ends.
func StartConfig(tb testing.TB, cfg server.Config) *Lathe {
	tb.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = tb.TempDir()
	}
	cfg.Executor = Executor(tb, cfg.Executor)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return run(tb, cfg, "")
}

// run starts the server cfg describes, and stops it when the test ends
// (or when Stop is called). The Lathe's client trusts caFile's
// certificates when it is set, and holds every answer a test gets through
// it to the OpenAPI document.
func run(tb testing.TB, cfg server.Config, caFile string) *Lathe {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		tb.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	token := AdminToken(tb, srv, cfg.DataDir)
	l := &Lathe{Server: srv, Client: client.New(srv.URL, token), DataDir: cfg.DataDir, AdminToken: token}
	if caFile != "" {
		if err := l.Client.UseCA(caFile); err != nil {
			tb.Fatal(err)
		}
	}
	l.Client.HTTP.Transport = CheckOpenAPI(tb, l.Client.HTTP.Transport)
	stopped := false
	l.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("server stopped with error: %v", err)
			}
		case <-time.After(30 * time.Second):
			tb.Errorf("server did not stop within 30s")
		}
	}
	tb.Cleanup(l.stop)
	return l
}

// Executor returns opts, or on a machine without bubblewrap outside CI
// the shell executor, with a notice: the tests of the sandbox itself call
// NeedSandbox and skip there. In CI bubblewrap must be installed.
func Executor(tb testing.TB, opts executor.Options) executor.Options {
	tb.Helper()
	if opts.Kind != "" && opts.Kind != executor.KindSandbox {
		return opts
	}
	if _, err := executor.FindBwrap(); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("CI: %v", err)
		}
		tb.Logf("no bubblewrap here: agents run the shell executor (%v)", err)
		opts.Kind = executor.KindShell
	}
	return opts
}

// NeedSandbox skips a test of the sandbox itself where bubblewrap is
// missing (outside CI; in CI it fails).
func NeedSandbox(tb testing.TB) {
	tb.Helper()
	if _, err := executor.FindBwrap(); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("CI: %v", err)
		}
		tb.Skipf("no bubblewrap here: %v", err)
	}
}

// FreeAddr is an address on 127.0.0.1 where nothing listened a moment
// ago: for a server process the test starts there, or for a client to
// find no server at.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// PublicDir makes a directory every user may read, where a sandboxed step
// would find it: outside /tmp, /var/tmp and /dev/shm (each sandbox has its
// own) and under parents every user may enter, wherever the repository is
// checked out (a clean clone under /tmp, or under /root, fits neither).
// It is /var/lib/lathe-test-*, removed when the test ends; the test skips
// where it cannot make one (not root), and fails in CI.
func PublicDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("/var/lib", "lathe-test-")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("CI: a directory every user may read: %v", err)
		}
		tb.Skipf("no directory every user may read outside /tmp: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// AdminToken is the token the server issued at its first start, or, on a
// restart (when the server no longer knows it), the one the first start
// left in the data directory for the operator, as an operator reads it.
func AdminToken(tb testing.TB, srv *server.Server, dataDir string) string {
	tb.Helper()
	if srv.AdminToken != "" {
		return srv.AdminToken
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		tb.Fatalf("read the admin token: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// Stop stops the server and its agents and waits for them.
func (l *Lathe) Stop() { l.stop() }

// testWriter sends server logs to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Do calls the API and fails the test on error.
func (l *Lathe) Do(tb testing.TB, method, path string, body, out any) {
	tb.Helper()
	if err := l.Client.Do(context.Background(), method, path, body, out); err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
}

// ClientAs is a client of the server with token (a user's, an agent's, a
// registration token, or "" for none) whose answers are held to the OpenAPI
// document like those of l.Client.
func (l *Lathe) ClientAs(tb testing.TB, token string) *client.Client {
	c := client.New(l.URL, token)
	if check, ok := l.Client.HTTP.Transport.(*openAPICheck); ok {
		if t, ok := check.next.(*http.Transport); ok && t.TLSClientConfig != nil {
			c.SetTLS(t.TLSClientConfig)
		}
	}
	c.HTTP.Transport = CheckOpenAPI(tb, c.HTTP.Transport)
	return c
}

// Project creates a project for the repository.
func (l *Lathe) Project(tb testing.TB, name, repo string) *lathe.Project {
	tb.Helper()
	var p lathe.Project
	l.Do(tb, http.MethodPost, "/api/v1/projects", map[string]string{"name": name, "url": repo}, &p)
	return &p
}

// Trigger starts a run of the project at ref ("" = default branch): of
// pipeline, or with pipeline "" of the one pipeline that runs on manual
// requests (the test fails when the server started another number).
func (l *Lathe) Trigger(tb testing.TB, project, ref, pipeline string) *lathe.Run {
	tb.Helper()
	if pipeline == "" {
		var all struct {
			Items []*lathe.Run `json:"items"`
		}
		l.Do(tb, http.MethodPost, "/api/v1/projects/"+project+"/runs", map[string]string{"ref": ref}, &all)
		if len(all.Items) != 1 {
			tb.Fatalf("trigger %s at %q: %d runs started, want 1 (name the pipeline)", project, ref, len(all.Items))
		}
		return all.Items[0]
	}
	var r lathe.Run
	l.Do(tb, http.MethodPost, "/api/v1/projects/"+project+"/runs", map[string]string{"ref": ref, "pipeline": pipeline}, &r)
	return &r
}

// Wait waits (at most timeout) for a run to finish and returns it with its jobs.
func (l *Lathe) Wait(tb testing.TB, runID int64, timeout time.Duration) *lathe.Run {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last lathe.Run
	err := l.Client.Stream(ctx, fmt.Sprintf("/api/v1/runs/%d/events", runID), "", func(ev client.Event) error {
		return json.Unmarshal(ev.Data, &last)
	})
	if !last.Status.Terminal() {
		tb.Fatalf("run %d did not finish within %v (last status %q, err %v)", runID, timeout, last.Status, err)
	}
	return l.Run(tb, runID)
}

// Run fetches a run.
func (l *Lathe) Run(tb testing.TB, runID int64) *lathe.Run {
	tb.Helper()
	var r lathe.Run
	l.Do(tb, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", runID), nil, &r)
	return &r
}

// Job fetches a job with its attempts and steps.
func (l *Lathe) Job(tb testing.TB, id int64) *lathe.Job {
	tb.Helper()
	var j lathe.Job
	l.Do(tb, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d", id), nil, &j)
	return &j
}

// Log returns the whole log of a job's latest attempt.
func (l *Lathe) Log(tb testing.TB, jobID int64) string {
	tb.Helper()
	resp, err := l.Client.Request(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log", jobID), nil, nil)
	if err != nil {
		tb.Fatalf("get log of job %d: %v", jobID, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// JobByName finds a job of a run by name.
func JobByName(tb testing.TB, r *lathe.Run, name string) *lathe.Job {
	tb.Helper()
	for _, j := range r.Jobs {
		if j.Name == name {
			return j
		}
	}
	tb.Fatalf("run %d has no job %q", r.ID, name)
	return nil
}
