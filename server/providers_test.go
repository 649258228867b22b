package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/store"
)

// agentPIDs returns the live `BIN agent …` processes on this machine. A
// child an agent is starting shows the agent's command line until it
// execs (Go forks with vfork), so a process whose parent is one of them is
// not counted as another agent.
func agentPIDs(bin string) []int {
	ents, _ := os.ReadDir("/proc")
	parents := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.HasPrefix(b, []byte(bin+"\x00agent\x00")) {
			continue
		}
		st, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		// stat is "PID (COMM) STATE PPID …"; COMM may hold spaces.
		f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		parents[pid], _ = strconv.Atoi(f[1])
	}
	var pids []int
	for pid, ppid := range parents {
		if _, child := parents[ppid]; !child {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killAgents kills every `BIN agent` process left, so a failing test leaves none.
func killAgents(t *testing.T, bin string) {
	t.Cleanup(func() {
		for _, pid := range agentPIDs(bin) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("agent process %d was still running at the end", pid)
		}
	})
}

func instances(t *testing.T, l *lathetest.Lathe, group string) []*lathe.AgentInstance {
	t.Helper()
	var out struct {
		Items []*lathe.AgentInstance `json:"items"`
	}
	l.Do(t, http.MethodGet, "/api/v1/agent-groups/"+group+"/instances", nil, &out)
	return out.Items
}

// waitFor polls cond every 100ms for at most d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within %v", what, d)
}

func auditActions(t *testing.T, l *lathetest.Lathe) map[string]int {
	t.Helper()
	page, err := l.Server.Store.AuditEvents(t.Context(), store.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range page.Items {
		if e.Actor == "provider" {
			n[e.Action]++
		}
	}
	return n
}

// providerPipeline has jobs jobs in one stage, each on the label ondemand.
func providerPipeline(jobs int) string {
	var b strings.Builder
	b.WriteString("jobs:\n")
	for i := 1; i <= jobs; i++ {
		b.WriteString("  j" + strconv.Itoa(i) + ":\n    runs-on: [ondemand]\n    steps: [echo on demand]\n")
	}
	return b.String()
}

// The process provider starts real `lathe agent` processes when a job
// waits for the group's labels; they run it, and stop once idle.
func TestProcessProviderStartsAgentsForWaitingJobsAndStopsThemWhenIdle(t *testing.T) {
	bin := lathetest.Binary(t)
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		processProvider(t, bin, o)
	})
}

func processProvider(t *testing.T, bin string, o lathetest.Options) {
	killAgents(t, bin)
	o.Agents, o.ProviderBinary, o.ProvisionInterval = -1, bin, 100*time.Millisecond
	l := lathetest.Start(t, o)
	var g lathe.AgentGroup
	l.Do(t, http.MethodPost, "/api/v1/agent-groups", map[string]any{"name": "pool",
		"provider": map[string]any{"kind": "process", "labels": []string{"ondemand"}, "max": 2, "idle_timeout_sec": 1}}, &g)
	if g.Provider == nil || g.Provider.Max != 2 {
		t.Fatalf("group's provider = %+v", g.Provider)
	}
	if got := instances(t, l, "pool"); len(got) != 0 {
		t.Fatalf("no job waits, yet instances: %+v", got)
	}
	l.Project(t, "od", lathetest.Repo(t, map[string]string{".lathe.yml": providerPipeline(1)}))
	run := l.Trigger(t, "od", "", "")
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(l.DataDir, "provider", "*", "agent.log"))
			for _, f := range logs {
				b, _ := os.ReadFile(f)
				t.Logf("%s:\n%s", f, b)
			}
		}
	})
	waitUntil(t, 30*time.Second, "an instance", func() bool { return len(instances(t, l, "pool")) > 0 })
	t.Logf("instances: %+v", *instances(t, l, "pool")[0])
	r := l.Wait(t, run.ID, 90*time.Second)
	if r.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", r.Status)
	}
	job := l.Job(t, lathetest.JobByName(t, r, "j1").ID)
	if agent := job.Attempts[len(job.Attempts)-1].Agent; !strings.HasPrefix(agent, "pool-") {
		t.Fatalf("job ran on %q, not a provider's agent", agent)
	}
	// Idle past its timeout, the agent is stopped and forgotten.
	waitUntil(t, 60*time.Second, "instances gone", func() bool { return len(instances(t, l, "pool")) == 0 })
	waitUntil(t, 30*time.Second, "agent processes gone", func() bool { return len(agentPIDs(bin)) == 0 })
	acts := auditActions(t, l)
	if acts["agent_instance.start"] != 1 || acts["agent_instance.stop"] != 1 || acts["agent_instance.gone"] != 1 {
		t.Fatalf("audit events: %v", acts)
	}
}

// A one-shot group gives each job a fresh agent and never runs more than max.
func TestOneShotProviderGivesEachJobAFreshAgentWithinMax(t *testing.T) {
	bin := lathetest.Binary(t)
	killAgents(t, bin)
	l := lathetest.Start(t, lathetest.Options{Agents: -1, ProviderBinary: bin, ProvisionInterval: 100 * time.Millisecond})
	l.Do(t, http.MethodPost, "/api/v1/agent-groups", map[string]any{"name": "shots",
		"provider": map[string]any{"kind": "process", "labels": []string{"ondemand"}, "max": 2, "idle_timeout_sec": 60, "one_shot": true}}, nil)
	l.Project(t, "od", lathetest.Repo(t, map[string]string{".lathe.yml": providerPipeline(4)}))
	run := l.Trigger(t, "od", "", "")
	most := 0
	waitUntil(t, 120*time.Second, "run finished", func() bool {
		live := 0
		for _, in := range instances(t, l, "shots") {
			if in.State != lathe.InstanceFailed {
				live++
			}
		}
		most = max(most, live)
		if n := len(agentPIDs(bin)); n > 2 {
			t.Fatalf("%d agent processes, max is 2", n)
		}
		return l.Run(t, run.ID).Status.Terminal()
	})
	if most > 2 {
		t.Fatalf("%d instances at once, max is 2", most)
	}
	r := l.Run(t, run.ID)
	if r.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", r.Status)
	}
	var agents []string
	for i := 1; i <= 4; i++ {
		job := l.Job(t, lathetest.JobByName(t, r, "j"+strconv.Itoa(i)).ID)
		agents = append(agents, job.Attempts[len(job.Attempts)-1].Agent)
	}
	sort.Strings(agents)
	for i := 1; i < len(agents); i++ {
		if agents[i] == agents[i-1] {
			t.Fatalf("two jobs ran on one one-shot agent: %v", agents)
		}
	}
	waitUntil(t, 60*time.Second, "instances gone", func() bool { return len(instances(t, l, "shots")) == 0 })
	waitUntil(t, 30*time.Second, "agent processes gone", func() bool { return len(agentPIDs(bin)) == 0 })
}

// A command provider (a shell script that starts `lathe agent` in the
// background and records PIDs) runs a job and stops its agent when idle.
func TestCommandProviderScriptRunsAJobAndStopsItsAgent(t *testing.T) {
	bin := lathetest.Binary(t)
	killAgents(t, bin)
	state := t.TempDir()
	t.Setenv("LATHE_BIN", bin)
	t.Setenv("LATHE_PROVIDER_STATE", state)
	script, err := filepath.Abs("testdata/provider.sh")
	if err != nil {
		t.Fatal(err)
	}
	l := lathetest.Start(t, lathetest.Options{Agents: -1, ProvisionInterval: 100 * time.Millisecond})
	l.Do(t, http.MethodPost, "/api/v1/agent-groups", map[string]any{"name": "cmd",
		"provider": map[string]any{"kind": "command", "command": script, "labels": []string{"ondemand"}, "max": 1, "idle_timeout_sec": 1}}, nil)
	l.Project(t, "od", lathetest.Repo(t, map[string]string{".lathe.yml": providerPipeline(2)}))
	r := l.Wait(t, l.Trigger(t, "od", "", "").ID, 90*time.Second)
	if r.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", r.Status)
	}
	pids, _ := filepath.Glob(filepath.Join(state, "cmd-*.pid"))
	if len(pids) != 1 {
		t.Fatalf("max 1, yet the script started %d agents", len(pids))
	}
	waitUntil(t, 60*time.Second, "instances gone", func() bool { return len(instances(t, l, "cmd")) == 0 })
	waitUntil(t, 30*time.Second, "agent processes gone", func() bool { return len(agentPIDs(bin)) == 0 })
}

// Bad provider settings are refused with the field named.
func TestGroupProviderBadInputNamesTheField(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	for body, want := range map[string]string{
		`{"name":"a","provider":{"kind":"cloud","labels":[],"max":1}}`:                        "provider.kind",
		`{"name":"a","provider":{"kind":"process","labels":[],"max":0}}`:                      "provider.max",
		`{"name":"a","provider":{"kind":"process","labels":[],"min":3,"max":2}}`:              "provider.min",
		`{"name":"a","provider":{"kind":"command","command":"rel/path","labels":[],"max":1}}`: "provider.command",
	} {
		resp, err := l.Client.Request(t.Context(), http.MethodPost, "/api/v1/agent-groups", json.RawMessage(body), nil)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: accepted", body)
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "400") {
			t.Errorf("%s: %v, want a 400 naming %s", body, err, want)
		}
	}
}
