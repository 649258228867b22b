package executor_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/internal/dockerapi"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/enginetest"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

var attemptSeq atomic.Int64

// containerEnv is a container executor on the test engine, as a fresh
// agent name, and a job's directories.
type containerEnv struct {
	c                  *executor.Containers
	ws, home, ctl, dir string
	log                *os.File
}

func newContainerEnv(t testing.TB) *containerEnv {
	t.Helper()
	e := enginetest.Engine(t)
	root := t.TempDir()
	os.Chmod(root, 0o755)
	ce := &containerEnv{dir: root, ws: filepath.Join(root, "ws"), home: filepath.Join(root, "home"), ctl: filepath.Join(root, "ctl")}
	for _, d := range []string{ce.ws, ce.home, ce.ctl} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var user *executor.User
	if os.Geteuid() == 0 {
		user = &executor.User{Uid: 65534, Gid: 65534}
	}
	ce.c = &executor.Containers{Engine: e, Agent: "test-" + filepath.Base(root) + "-" + t.Name(), Dir: root, User: user, Grace: 2 * time.Second}
	ce.c.Agent = strings.NewReplacer("/", "-", " ", "-").Replace(ce.c.Agent)
	log, err := os.OpenFile(filepath.Join(root, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ce.log = log
	t.Cleanup(func() {
		log.Close()
		// Whatever a failed test left goes too.
		ce.c.RemoveLeftovers(context.Background())
	})
	return ce
}

func (ce *containerEnv) spec(jc *lathe.JobContainer) executor.Spec {
	return executor.Spec{Workspace: ce.ws, Home: ce.home, Control: ce.ctl, Log: ce.log,
		Env: append(executor.ContainerBaseEnv(ce.home, nil), "GREETING=hi there"), Container: jc, Attempt: attemptSeq.Add(1)}
}

func (ce *containerEnv) start(t *testing.T, jc *lathe.JobContainer) executor.Job {
	t.Helper()
	job, err := ce.c.Start(context.Background(), ce.spec(jc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(job.Close)
	return job
}

// containersOf lists the containers and networks labelled with the agent.
func (ce *containerEnv) containersOf(t *testing.T) (containers, networks int) {
	t.Helper()
	f := dockerapi.Filters{"label": {executor.LabelAgent + "=" + ce.c.Agent, executor.LabelAgentDir + "=" + ce.c.Dir}}
	cs, err := ce.c.Engine.Client().ContainerList(context.Background(), true, f)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := ce.c.Engine.Client().NetworkList(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return len(cs), len(ns)
}

func never() *lathe.JobContainer {
	return &lathe.JobContainer{Image: enginetest.Image, Pull: lathe.PullNever}
}

func TestContainerStepsRunInTheImage(t *testing.T) {
	ce := newContainerEnv(t)
	if err := os.WriteFile(filepath.Join(ce.ws, "hello.txt"), []byte("from the checkout\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	job := ce.start(t, never())
	code, out := run(t, job, ce.log, "cat /etc/os-release\npwd\ncat hello.txt\necho \"$GREETING\" > made.txt\necho \"home=$HOME path=$PATH\"")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, want := range []string{enginetest.OSRelease, ce.ws + "\n", "from the checkout", "home=" + ce.home + " path=/bin"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The step wrote into the workspace on the host, at the same path.
	if b, err := os.ReadFile(filepath.Join(ce.ws, "made.txt")); err != nil || string(b) != "hi there\n" {
		t.Errorf("made.txt = %q, %v", b, err)
	}
	// Steps run as the job's user, one after another in one container.
	if os.Geteuid() == 0 {
		if code, out := run(t, job, ce.log, "id -u"); code != 0 || strings.TrimSpace(out) != "65534" {
			t.Errorf("id -u: %d %q", code, out)
		}
	}
	if code, out := run(t, job, ce.log, "echo failing; exit 3"); code != 3 || !strings.Contains(out, "failing") {
		t.Errorf("exit 3 step: %d %q", code, out)
	}
	// set -e: a failing command ends the step.
	if code, out := run(t, job, ce.log, "false\necho not reached"); code != 1 || strings.Contains(out, "not reached") {
		t.Errorf("set -e step: %d %q", code, out)
	}
	if c, n := ce.containersOf(t); c != 1 || n != 1 {
		t.Errorf("%d containers and %d networks while the job runs, want 1 and 1", c, n)
	}
	job.Close()
	if c, n := ce.containersOf(t); c != 0 || n != 0 {
		t.Errorf("%d containers and %d networks left after Close", c, n)
	}
}

func TestContainerResourcesReachTheEngine(t *testing.T) {
	ce := newContainerEnv(t)
	jc := never()
	jc.Resources = &lathe.Resources{CPUs: 0.5, MemoryBytes: 64 << 20}
	job := ce.start(t, jc)
	f := dockerapi.Filters{"label": {executor.LabelAgent + "=" + ce.c.Agent, executor.LabelAgentDir + "=" + ce.c.Dir}}
	cs, err := ce.c.Engine.Client().ContainerList(context.Background(), false, f)
	if err != nil || len(cs) != 1 {
		t.Fatalf("list: %v %d", err, len(cs))
	}
	in, err := ce.c.Engine.Client().ContainerInspect(context.Background(), cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if hc := in.HostConfig; hc == nil || hc.NanoCPUs != 500_000_000 || hc.Memory != 64<<20 {
		t.Errorf("limits: %+v, want 500000000 nano-CPUs and %d bytes", hc, 64<<20)
	}
	if code, out := run(t, job, ce.log, "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"); code != 0 || strings.TrimSpace(out) != "67108864" {
		t.Errorf("memory limit inside: %d %q", code, out)
	}
}

func TestContainerServicesReachableByName(t *testing.T) {
	ce := newContainerEnv(t)
	jc := never()
	jc.Services = []lathe.Service{
		// Waited for by the port its image exposes.
		{Name: "web", Image: enginetest.ServiceImage, Command: []string{"sh", "-c", "sleep 1; echo served > /tmp/index.html; exec httpd -f -p 7000 -h /tmp"}},
		// Waited for by its ready command.
		{Name: "cache", Image: enginetest.Image, Env: []lathe.EnvVar{{Name: "PORT", Value: "7001"}},
			Command: []string{"sh", "-c", "sleep 1; echo cached > /tmp/index.html; exec httpd -f -p $PORT -h /tmp"},
			Ready:   "wget -q -O /dev/null http://127.0.0.1:7001/"},
	}
	job := ce.start(t, jc)
	code, out := run(t, job, ce.log, "wget -q -O - http://web:7000/\nwget -q -O - http://cache:7001/")
	if code != 0 || !strings.Contains(out, "served") || !strings.Contains(out, "cached") {
		t.Fatalf("services: exit %d: %s", code, out)
	}
	if c, n := ce.containersOf(t); c != 3 || n != 1 {
		t.Errorf("%d containers and %d networks while the job runs, want 3 and 1", c, n)
	}
	job.Close()
	if c, n := ce.containersOf(t); c != 0 || n != 0 {
		t.Errorf("%d containers and %d networks left after Close", c, n)
	}
}

// hostProcesses counts the live processes on the host (the test's machine)
// whose command line is args.
func hostProcesses(t *testing.T, args ...string) int {
	t.Helper()
	return len(lathetest.Processes(args...))
}

// TestContainerStopKillsTheWholeStep cancels (and times out) a step that
// left a process in the background: nothing of it runs afterwards, in the
// container or on the host, and Close removes the containers and network.
func TestContainerStopKillsTheWholeStep(t *testing.T) {
	for _, how := range []string{"cancel", "timeout"} {
		t.Run(how, func(t *testing.T) {
			ce := newContainerEnv(t)
			jc := never()
			jc.Services = []lathe.Service{{Name: "svc", Image: enginetest.Image, Command: []string{"sleep", "3000"}}}
			job := ce.start(t, jc)
			marker := "4242"
			if how == "timeout" {
				marker = "4343"
			}
			ready := filepath.Join(ce.ws, "started")
			ctx, cancel := context.WithCancel(context.Background())
			if how == "timeout" {
				ctx, cancel = context.WithTimeout(context.Background(), 3*time.Second)
			}
			defer cancel()
			done := make(chan error, 1)
			go func() {
				// The trap ignores SIGTERM: only SIGKILL after the grace period ends the step.
				_, err := job.Run(ctx, executor.Step{Script: "sleep " + marker + " &\ntrap '' TERM\ntouch started\nsleep " + marker + "\n", Output: ce.log})
				done <- err
			}()
			for i := 0; hostProcesses(t, "sleep", marker) < 2; i++ {
				if i > 2000 {
					t.Fatal("the step's sleeps never started")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if _, err := os.Stat(ready); err != nil {
				t.Fatal(err)
			}
			if how == "cancel" {
				cancel()
			}
			err := <-done
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Run: %v", err)
			}
			if n := hostProcesses(t, "sleep", marker); n != 0 {
				t.Errorf("%d of the step's processes still run after Run returned", n)
			}
			job.Close()
			if c, n := ce.containersOf(t); c != 0 || n != 0 {
				t.Errorf("%d containers and %d networks left after Close", c, n)
			}
			if n := hostProcesses(t, "sleep", "3000"); n != 0 {
				t.Errorf("the service still runs")
			}
		})
	}
}

func TestContainerMissingImage(t *testing.T) {
	ce := newContainerEnv(t)
	_, err := ce.c.Start(context.Background(), ce.spec(&lathe.JobContainer{Image: enginetest.Missing, Pull: lathe.PullNever}))
	if err == nil || !strings.Contains(err.Error(), enginetest.Missing) || !strings.Contains(strings.ToLower(err.Error()), "no such image") {
		t.Fatalf("want the engine's no such image error naming %s, got %v", enginetest.Missing, err)
	}
	jc := never()
	jc.Services = []lathe.Service{{Name: "db", Image: enginetest.Missing}}
	_, err = ce.c.Start(context.Background(), ce.spec(jc))
	if err == nil || !strings.Contains(err.Error(), "service db") || !strings.Contains(err.Error(), enginetest.Missing) {
		t.Fatalf("want an error naming the service and its image, got %v", err)
	}
	if c, n := ce.containersOf(t); c != 0 || n != 0 {
		t.Errorf("%d containers and %d networks left", c, n)
	}
}

func TestContainerServiceNeverReady(t *testing.T) {
	ce := newContainerEnv(t)
	for _, svc := range []lathe.Service{
		{Name: "stuck", Image: enginetest.Image, Command: []string{"sh", "-c", "echo starting up; sleep 3000"}, Ready: "exit 7", ReadyTimeoutSec: 1},
		{Name: "dies", Image: enginetest.ServiceImage, Command: []string{"sh", "-c", "echo cannot start; exit 5"}},
	} {
		jc := never()
		jc.Services = []lathe.Service{svc}
		_, err := ce.c.Start(context.Background(), ce.spec(jc))
		if err == nil {
			t.Fatalf("%s: Start succeeded", svc.Name)
		}
		msg := err.Error()
		switch svc.Name {
		case "stuck":
			if !strings.Contains(msg, "service stuck: not ready after 1s") || !strings.Contains(msg, "exited with 7") || !strings.Contains(msg, "starting up") {
				t.Errorf("stuck: %v", err)
			}
		case "dies":
			if !strings.Contains(msg, "service dies: stopped (exit code 5) before it was ready") || !strings.Contains(msg, "cannot start") {
				t.Errorf("dies: %v", err)
			}
		}
		if c, n := ce.containersOf(t); c != 0 || n != 0 {
			t.Errorf("%s: %d containers and %d networks left", svc.Name, c, n)
		}
	}
	if n := hostProcesses(t, "sleep", "3000"); n != 0 {
		t.Errorf("the stuck service still runs")
	}
}

func TestContainerRemoveLeftovers(t *testing.T) {
	ce := newContainerEnv(t)
	jc := never()
	jc.Services = []lathe.Service{{Name: "svc", Image: enginetest.Image, Command: []string{"sleep", "3000"}}}
	// A job the agent never closed: it died with the job running.
	if _, err := ce.c.Start(context.Background(), ce.spec(jc)); err != nil {
		t.Fatal(err)
	}
	// So does the job of an agent of the same name in another work directory.
	other := &executor.Containers{Engine: ce.c.Engine, Agent: ce.c.Agent, Dir: ce.dir + "-other", User: ce.c.User}
	t.Cleanup(func() { other.RemoveLeftovers(context.Background()) })
	otherJob, err := other.Start(context.Background(), ce.spec(never()))
	if err != nil {
		t.Fatal(err)
	}
	defer otherJob.Close()
	restarted := &executor.Containers{Engine: ce.c.Engine, Agent: ce.c.Agent, Dir: ce.dir}
	n, err := restarted.RemoveLeftovers(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("RemoveLeftovers = %d, %v; want the job and its service", n, err)
	}
	if c, n := ce.containersOf(t); c != 0 || n != 0 {
		t.Errorf("%d containers and %d networks left", c, n)
	}
	if code, out := run(t, otherJob, ce.log, "echo still here"); code != 0 || !strings.Contains(out, "still here") {
		t.Errorf("the other agent's job: %d %q", code, out)
	}
}

// With the job network "none", the job's network is internal (the engine
// routes nothing out of it), and its services are still reachable by name.
func TestContainerNoNetworkKeepsServices(t *testing.T) {
	ce := newContainerEnv(t)
	ce.c.NoNetwork = true
	jc := never()
	jc.Services = []lathe.Service{{Name: "web", Image: enginetest.ServiceImage,
		Command: []string{"sh", "-c", "echo inside > /tmp/index.html; exec httpd -f -p 7000 -h /tmp"}}}
	job := ce.start(t, jc)
	if code, out := run(t, job, ce.log, "wget -q -O - http://web:7000/"); code != 0 || !strings.Contains(out, "inside") {
		t.Fatalf("exit %d, want the service reached:\n%s", code, out)
	}
	f := dockerapi.Filters{"label": {executor.LabelAgentDir + "=" + ce.c.Dir}}
	ns, err := ce.c.Engine.Client().NetworkList(context.Background(), f)
	if err != nil || len(ns) != 1 || !ns[0].Internal {
		t.Fatalf("networks %+v, %v; want one internal network", ns, err)
	}
}
