package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/internal/dockerapi"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/agent"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/enginetest"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const containerPipeline = `
jobs:
  in-image:
    image: ` + enginetest.Image + `
    pull: never
    resources: {cpus: 1, memory: 256m}
    services:
      - name: web
        image: ` + enginetest.ServiceImage + `
        command: [sh, -c, "echo served by web > /tmp/index.html; exec httpd -f -p 7000 -h /tmp"]
    steps:
      - cat /etc/os-release
      - test -f .lathe.yml && pwd
      - wget -q -O - http://web:7000/
  missing-image:
    image: ` + enginetest.Missing + `
    pull: never
    steps: [echo never runs]
  on-host:
    steps: [echo on the host]
`

// labelled counts the containers and networks labelled as the embedded
// agent's of the server whose data directory is dataDir.
func labelled(t *testing.T, e *executor.Engine, dataDir string) int {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join(dataDir, "agents", "1"))
	f := dockerapi.Filters{"label": {executor.LabelAgentDir + "=" + dir}}
	cs, err := e.Client().ContainerList(context.Background(), true, f)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := e.Client().NetworkList(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return len(cs) + len(ns)
}

// A pipeline's image job runs in its container with its service, through a
// real server and agent; a missing image fails its job with the engine's
// words; the systems list counts what ran.
func TestContainerJobsEndToEnd(t *testing.T) {
	e := enginetest.Engine(t)
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = 1
		o.Executor.ContainerHost = e.Host
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": containerPipeline})
		l.Project(t, "boxed", repo)
		run := l.Wait(t, l.Trigger(t, "boxed", "main", "").ID, 2*time.Minute)

		in := lathetest.JobByName(t, run, "in-image")
		log := l.Log(t, in.ID)
		if in.Status != lathe.StatusSuccess {
			t.Fatalf("in-image: %s\n%s", in.Status, log)
		}
		for _, want := range []string{enginetest.OSRelease, filepath.Join(l.DataDir, "agents", "1", "ws"), "served by web"} {
			if !strings.Contains(log, want) {
				t.Errorf("in-image log lacks %q:\n%s", want, log)
			}
		}
		if in.Container == nil || in.Container.Image != enginetest.Image || len(in.Container.Services) != 1 ||
			in.Container.Resources == nil || in.Container.Resources.MemoryBytes != 256<<20 {
			t.Errorf("in-image container = %+v", in.Container)
		}
		if fmt.Sprint(in.RunsOn) != "["+lathe.ContainerExecutorLabel+"]" {
			t.Errorf("in-image runs_on = %v", in.RunsOn)
		}

		missing := lathetest.JobByName(t, run, "missing-image")
		mlog := l.Log(t, missing.ID)
		if missing.Status != lathe.StatusFailed || !strings.Contains(mlog, enginetest.Missing) ||
			!strings.Contains(strings.ToLower(mlog), "no such image") {
			t.Errorf("missing-image: %s, want failed with the engine's message:\n%s", missing.Status, mlog)
		}
		if host := lathetest.JobByName(t, run, "on-host"); host.Status != lathe.StatusSuccess || host.Container != nil {
			t.Errorf("on-host: %s %+v", host.Status, host.Container)
		}
		if n := labelled(t, e, l.DataDir); n != 0 {
			t.Errorf("%d containers and networks left after the run", n)
		}

		var systems struct {
			Systems []lathe.System `json:"systems"`
		}
		l.Do(t, http.MethodGet, "/api/v1/systems", nil, &systems)
		got := map[string]lathe.System{}
		for _, s := range systems.Systems {
			got[s.Executor+" "+s.Image] = s
		}
		for _, key := range []string{"container " + enginetest.Image, "container " + enginetest.Missing, "host "} {
			s, ok := got[key]
			if !ok || s.Jobs != 1 || s.Attempts != 1 || s.LastUsed == nil {
				t.Errorf("system %q = %+v (in %+v)", key, s, systems.Systems)
			}
		}
	})
}

// An image job waits for an agent with a container executor: one without
// an engine never gets it.
func TestContainerJobsNeedAContainerAgent(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "boxed", lathetest.Repo(t, map[string]string{".lathe.yml": containerPipeline}))
	run := l.Trigger(t, "boxed", "main", "")
	for i := 0; ; i++ {
		r := l.Run(t, run.ID)
		in := lathetest.JobByName(t, r, "in-image")
		host := lathetest.JobByName(t, r, "on-host")
		if host.Status == lathe.StatusSuccess && in.WaitReason != "" {
			if in.Status != lathe.StatusQueued && in.Status != lathe.StatusPending {
				t.Fatalf("in-image is %s on an agent without a container engine", in.Status)
			}
			if !strings.Contains(in.WaitReason, lathe.ContainerExecutorLabel) {
				t.Errorf("wait reason %q does not name %s", in.WaitReason, lathe.ContainerExecutorLabel)
			}
			break
		}
		if i == 600 {
			t.Fatalf("in-image: %s %q; on-host: %s", in.Status, in.WaitReason, host.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), nil, nil)
}

// Canceling a run stops the step inside its container, the processes it
// left in the background too, and removes the job's containers and
// network; an agent that starts again removes what it left when it died.
func TestContainerCancelAndRestartCleanup(t *testing.T) {
	e := enginetest.Engine(t)
	dataDir := t.TempDir()
	o := lathetest.Options{Agents: 1, DataDir: dataDir}
	o.Executor.ContainerHost = e.Host
	l := lathetest.Start(t, o)
	l.Project(t, "boxed", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  long:
    image: ` + enginetest.Image + `
    pull: never
    services: [{name: svc, image: ` + enginetest.Image + `, command: [sleep, "3003"]}]
    steps:
      - sleep 4545 & sleep 4545
`}))
	run := l.Trigger(t, "boxed", "main", "")
	for i := 0; len(lathetest.Processes("sleep", "4545")) < 2; i++ {
		if i == 1200 {
			t.Fatalf("the step never started: %+v", l.Run(t, run.ID))
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), nil, nil)
	if r := l.Wait(t, run.ID, time.Minute); r.Status != lathe.StatusCanceled {
		t.Fatalf("run %s", r.Status)
	}
	for i := 0; labelled(t, e, dataDir) > 0 || len(lathetest.Processes("sleep", "4545"))+len(lathetest.Processes("sleep", "3003")) > 0; i++ {
		if i == 600 {
			t.Fatalf("after cancel: %d containers and networks, step processes %v, service %v", labelled(t, e, dataDir),
				lathetest.Processes("sleep", "4545"), lathetest.Processes("sleep", "3003"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.Stop()

	// A job of the agent's earlier life that it never removed (it died).
	agentDir, _ := filepath.Abs(filepath.Join(dataDir, "agents", "1"))
	host, _ := os.Hostname()
	dead := &executor.Containers{Engine: e, Agent: "embedded-" + host + "-1", Dir: agentDir}
	if _, err := dead.Start(context.Background(), executor.Spec{Workspace: t.TempDir(), Home: t.TempDir(), Control: t.TempDir(), Attempt: 999999,
		Container: &lathe.JobContainer{Image: enginetest.Image, Pull: lathe.PullNever}}); err != nil {
		t.Fatal(err)
	}
	if n := labelled(t, e, dataDir); n != 2 {
		t.Fatalf("%d containers and networks before the restart, want 2", n)
	}
	lathetest.Start(t, o)
	for i := 0; labelled(t, e, dataDir) > 0; i++ {
		if i == 600 {
			t.Fatalf("the restarted agent left %d containers and networks", labelled(t, e, dataDir))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An agent that gains a container engine says so with its next claim, and
// that claim can already get an image job: the assignment carries the
// job's container.
func TestClaimWithANewEngineGetsImageJobs(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	dir := t.TempDir()
	reg := agent.Registration{Server: l.URL, Token: l.RegistrationToken(t), Name: "gains-engine", Host: agent.Host()}
	cred, err := agent.Credential(context.Background(), dir, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	l.Do(t, http.MethodPatch, "/api/v1/agents/gains-engine", map[string]any{"authorized": true}, nil)
	l.Project(t, "boxed", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  in-image:
    image: ` + enginetest.Image + `
    services: [{name: db, image: ` + enginetest.ServiceImage + `, ready: "true"}]
    steps: [cat /etc/os-release]
`}))
	l.Trigger(t, "boxed", "main", "")
	c := l.ClientAs(t, cred)
	if as, err := c.Claim(context.Background(), 0, ""); err != nil || as != nil {
		t.Fatalf("claim without an engine: %+v, %v", as, err)
	}
	h := agent.Host()
	h.Isolation, h.Container = executor.IsolationSandbox, "docker 99.0"
	agent.SendHostInfo(c, h)
	as, err := c.Claim(context.Background(), 5, "")
	if err != nil || as == nil {
		t.Fatalf("claim with an engine: %+v, %v", as, err)
	}
	if as.Container == nil || as.Container.Image != enginetest.Image || len(as.Container.Services) != 1 ||
		as.Container.Services[0].Ready != "true" {
		t.Errorf("assignment container = %+v", as.Container)
	}
	var got lathe.Agent
	l.Do(t, http.MethodGet, "/api/v1/agents/gains-engine", nil, &got)
	if got.Host.Container != "docker 99.0" {
		t.Errorf("agent host = %+v", got.Host)
	}
}
