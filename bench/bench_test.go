package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Sections (a)–(d) in -quick mode, so they keep compiling and working:
// every section runs on the real path and its checks (every run succeeds,
// the stored log is complete) hold. Targets are not checked: a loaded CI
// machine says nothing about them. PostgreSQL is left out unless
// LATHE_REQUIRE_POSTGRES asks for it.
// TestMain lets the test binary serve the long-poll and server floors, as
// the bench binary does, when the fleet and throughput sections start it
// as a child.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == floorServeArg {
		os.Exit(serveLongPollFloor())
	}
	if len(os.Args) > 1 && os.Args[1] == queueFloorArg {
		os.Exit(serveQueueFloor(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func TestBenchmarkQuick(t *testing.T) {
	res, pg := runQuick(t, "a,b,c,d", "(a) trigger", "(b) per-step", "(c) log throughput", "(d) idle server")
	engines := []*latencyResult{res.LatencySQLite}
	if pg == "on" {
		engines = append(engines, res.LatencyPostgres)
	}
	for i, l := range engines {
		if l == nil {
			t.Fatalf("latency result %d missing", i)
		}
		if l.Latency.N != 20 || l.Floor.N != 20 || l.Latency.P50 <= 0 || l.Floor.P50 <= 0 {
			t.Errorf("%s latency: %d runs, p50 %.2f ms, floor %d runs, p50 %.2f ms", l.Engine, l.Latency.N, l.Latency.P50, l.Floor.N, l.Floor.P50)
		}
	}
	if s := res.Steps; s == nil || s.Lathe <= 0 || s.Direct <= 0 || s.StepRun.N != stepCount {
		t.Errorf("steps result: %+v", s)
	}
	if l := res.Logs; l == nil || !l.Verified || l.Step <= 0 || l.Direct <= 0 {
		t.Errorf("logs result: %+v", l)
	}
	if m := res.Memory; m == nil || m.RSSMB <= 0 {
		t.Errorf("memory result: %+v", m)
	}
	if len(res.Errors) > 0 {
		t.Errorf("errors: %v", res.Errors)
	}
}

// The agent-facing sections in -quick mode: throughput (a few dozen jobs,
// eight real agent processes, and the floor), fleet (50 simulated agents)
// and lost (one agent killed). Like the test above it checks that each ran
// and checked out, not the targets.
func TestBenchmarkAgentsQuick(t *testing.T) {
	res, pg := runQuick(t, "throughput,fleet,lost", "(throughput)", "(fleet)", "(lost)")
	engines := 1
	if pg == "on" {
		engines = 2
	}
	if len(res.Throughput) != engines {
		t.Fatalf("%d throughput results, want %d", len(res.Throughput), engines)
	}
	for _, r := range res.Throughput {
		ran := 0
		for _, n := range r.PerAgent {
			ran += n
		}
		if r.Jobs != 32 || ran != r.Jobs || len(r.PerAgent) != 8 || r.JobsPerSec <= 0 || r.Floor.JobsPerSec <= 0 || r.Floor.Jobs != r.Jobs ||
			r.CPU.Steps <= 0 || r.Profile == nil || r.ServerFloor == nil || r.ServerFloor.Jobs != r.Jobs || r.ServerFloor.ServerMS <= 0 {
			t.Errorf("%s throughput: %+v", r.Engine, r)
		}
		// The whole machine counts the sandbox's processes, which no
		// agent waits for; the agents need bwrap, so the isolated floor ran.
		if r.CPU.Machine < r.CPU.total() || r.Floor.MachineMS <= 0 {
			t.Errorf("%s throughput: the whole machine's CPU per job %.2f ms (floor %.2f ms), the processes' %.2f ms",
				r.Engine, r.CPU.Machine, r.Floor.MachineMS, r.CPU.total())
		}
		if f := r.Isolated; f == nil || f.Jobs != r.Jobs || f.JobsPerSec <= 0 || f.MachineMS <= 0 {
			t.Errorf("%s throughput: isolated floor %+v", r.Engine, f)
		}
	}
	if f := res.Fleet; f == nil || f.Agents != 50 || f.RSSMB <= 0 || f.Polls < 50 || f.Errors != 0 || f.FDs < 50 || f.Floor == nil || f.Floor.Polls < 50 || f.Go == nil || f.Go.Goroutines < 50 {
		t.Errorf("fleet result: %+v", f)
	}
	if l := res.Lost; l == nil || l.Reps != 1 || l.Lost.N != 1 || l.Lost.P50 <= 0 || l.Claimed.P50 < l.Lost.P50 {
		t.Errorf("lost result: %+v", l)
	}
	if len(res.Errors) > 0 {
		t.Errorf("errors: %v", res.Errors)
	}
}

// The scale section in -quick mode: 1, 2 and 3 replicas on one PostgreSQL
// draining a few dozen jobs with four agents, then 30 simulated agents
// long-polling the three. It needs PostgreSQL, which CI requires.
func TestBenchmarkScaleQuick(t *testing.T) {
	if v := os.Getenv("LATHE_REQUIRE_POSTGRES"); v == "" || v == "0" {
		t.Skip("the scale section runs on PostgreSQL; set LATHE_REQUIRE_POSTGRES=1 (CI does)")
	}
	res, _ := runQuick(t, "scale", "(scale)", "(scale fleet)")
	s := res.Scale
	if s == nil || len(s.Runs) != 3 || s.Floor.JobsPerSec <= 0 {
		t.Fatalf("scale result: %+v", s)
	}
	for i, r := range s.Runs {
		ran := 0
		for _, n := range r.PerAgent {
			ran += n
		}
		if r.Replicas != i+1 || ran != s.Jobs || len(r.PerReplica) != r.Replicas || r.JobsPerSec <= 0 || r.ServerMS <= 0 || r.PostgresMS <= 0 ||
			r.MachineMS <= 0 {
			t.Errorf("%d replicas: %+v", i+1, r)
		}
	}
	if f := s.Fleet; f == nil || f.Agents != 30 || len(f.RSSMB) != 3 || f.Polls < 30 || f.Errors != 0 || f.Claimed != 0 {
		t.Errorf("fleet: %+v", f)
	}
	if len(res.Errors) > 0 {
		t.Errorf("errors: %v", res.Errors)
	}
}

// runQuick runs the sections named in only in -quick mode (with PostgreSQL
// when LATHE_REQUIRE_POSTGRES asks for it), checks it exits 0 and prints
// every section header given, and returns its JSON results and whether
// PostgreSQL ran ("on" or "off").
func runQuick(t *testing.T, only string, sections ...string) (results, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts servers and agent processes and builds the lathe binary")
	}
	pg := "off"
	if v := os.Getenv("LATHE_REQUIRE_POSTGRES"); v != "" && v != "0" {
		pg = "on"
	}
	jsonPath := filepath.Join(t.TempDir(), "results.json")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-quick", "-only", only, "-postgres=" + pg, "-json", jsonPath}, &stdout, &stderr)
	t.Logf("output:\n%s", stdout.String())
	if code != 0 {
		t.Fatalf("bench exited %d; stderr:\n%s", code, stderr.String())
	}
	for _, want := range sections {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report has no %q section", want)
		}
	}
	var res results
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("results JSON: %v", err)
	}
	return res, pg
}
