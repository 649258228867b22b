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

// The whole benchmark in -quick mode, so it keeps compiling and working:
// every section runs on the real path and its checks (every run succeeds,
// the stored log is complete) hold. Targets are not checked: a loaded CI
// machine says nothing about them. PostgreSQL is left out unless
// LATHE_REQUIRE_POSTGRES asks for it.
func TestBenchmarkQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and builds the lathe binary")
	}
	pg := "off"
	if v := os.Getenv("LATHE_REQUIRE_POSTGRES"); v != "" && v != "0" {
		pg = "on"
	}
	jsonPath := filepath.Join(t.TempDir(), "results.json")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-quick", "-postgres=" + pg, "-json", jsonPath}, &stdout, &stderr)
	t.Logf("output:\n%s", stdout.String())
	if code != 0 {
		t.Fatalf("bench exited %d; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"(a) trigger", "(b) per-step", "(c) log throughput", "(d) idle server"} {
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
