package local_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/local"
)

// BenchmarkExec measures local.Run, in this process, of one job of 20
// trivial steps in a shared workspace against the floor: the same 20
// commands run by sh -c one after another in the same process. Both run in
// each iteration, so they see the same machine; the ratio of their medians
// is reported as exec/sh. BenchmarkExecProcess measures the lathe binary
// as a user runs it.
func BenchmarkExec(b *testing.B) {
	const steps = 20
	dir := b.TempDir()
	pipeline := "jobs:\n  trivial:\n    steps:\n" + strings.Repeat("      - true\n", steps)
	if err := os.WriteFile(filepath.Join(dir, ".lathe.yml"), []byte(pipeline), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var execTimes, floorTimes []time.Duration
	for b.Loop() {
		start := time.Now()
		res, err := local.Run(ctx, local.Options{Dir: dir, SharedWorkspace: true})
		if err != nil || res.Status != lathe.StatusSuccess {
			b.Fatalf("exec: %v, %v", res, err)
		}
		execTimes = append(execTimes, time.Since(start))

		start = time.Now()
		for range steps {
			cmd := exec.Command("/bin/sh", "-c", "true")
			cmd.Dir = dir
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
		floorTimes = append(floorTimes, time.Since(start))
	}
	// Medians: on a shared machine a few iterations land on a busy moment.
	e, f := median(execTimes), median(floorTimes)
	b.ReportMetric(float64(e.Microseconds())/1000, "exec-ms")
	b.ReportMetric(float64(f.Microseconds())/1000, "sh-ms")
	b.ReportMetric(float64(e)/float64(f), "exec/sh")
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}
