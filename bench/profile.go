package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A CPU profile of this process over one window (the throughput drain), so
// the report can say where the in-process server's time went without
// anyone opening pprof. The benchmark's own waiting carries the pprof label
// part=client and is left out; what remains is the server and the Go
// runtime working for it (GC and the scheduler carry no labels).

// profileSummary is where the server's CPU went in a window.
type profileSummary struct {
	Note    string  `json:"note,omitempty"`
	File    string  `json:"file,omitempty"` // kept with -profile-dir
	TotalMS float64 `json:"total_ms"`
	// Packages is flat CPU by Go package, largest first.
	Packages []profileEntry `json:"packages"`
	// Flat is the functions with the most CPU of their own.
	Flat []profileEntry `json:"top_flat"`
	// Lathe is Lathe's own functions by cumulative CPU (their callees included).
	Lathe []profileEntry `json:"lathe_cum"`
}

type profileEntry struct {
	Name string  `json:"name"`
	MS   float64 `json:"ms"`
	Pct  float64 `json:"pct"`
}

// profileTop is how many entries each list keeps.
const profileTop = 12

type windowProfile struct {
	buf  bytes.Buffer
	on   bool
	note string
}

// startWindowProfile starts profiling. Only one CPU profile can run at a
// time, so under -cpuprofile the window is only labelled in that file.
func startWindowProfile() *windowProfile {
	p := &windowProfile{}
	if err := pprof.StartCPUProfile(&p.buf); err != nil {
		p.note = "no profile of its own under -cpuprofile: see that file, e.g. go tool pprof -top -tagfocus section=throughput-sqlite -tagignore part=client FILE"
		return p
	}
	p.on = true
	return p
}

// stop ends the window and summarises it under name ("" only stops it).
func (p *windowProfile) stop(ctx context.Context, b *bench, name string) *profileSummary {
	if !p.on {
		if name == "" {
			return nil
		}
		return &profileSummary{Note: p.note}
	}
	pprof.StopCPUProfile()
	p.on = false
	if name == "" {
		return nil
	}
	dir := b.tmp
	if b.cfg.profileDir != "" {
		dir = b.cfg.profileDir
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return &profileSummary{Note: err.Error()}
		}
	}
	path := filepath.Join(dir, name+".pprof")
	if err := os.WriteFile(path, p.buf.Bytes(), 0o644); err != nil {
		return &profileSummary{Note: err.Error()}
	}
	s, err := summarizeProfile(ctx, path)
	if err != nil {
		s = &profileSummary{Note: err.Error()}
	}
	if b.cfg.profileDir != "" {
		s.File = path
	}
	return s
}

// summarizeProfile reads every function's flat and cumulative CPU from
// `go tool pprof -top` and groups them.
func summarizeProfile(ctx context.Context, path string) (*profileSummary, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0", "-edgefraction=0",
		"-tagignore=part=client", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go tool pprof: %v: %s", err, tailString(stderr.String(), 5))
	}
	type fn struct {
		name      string
		flat, cum float64
	}
	var fns []fn
	inTable := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !inTable {
			inTable = strings.Contains(line, "flat%") && strings.Contains(line, "cum%")
			continue
		}
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		flat, ok1 := pprofMS(f[0])
		cum, ok2 := pprofMS(f[3])
		if ok1 && ok2 {
			fns = append(fns, fn{strings.Join(f[5:], " "), flat, cum})
		}
	}
	s := &profileSummary{}
	byPkg := map[string]float64{}
	for _, f := range fns {
		s.TotalMS += f.flat
		byPkg[funcPackage(f.name)] += f.flat
	}
	if s.TotalMS == 0 {
		return &profileSummary{Note: "the profile has no samples"}, nil
	}
	entry := func(name string, v float64) profileEntry { return profileEntry{name, v, 100 * v / s.TotalMS} }
	for pkg, v := range byPkg {
		if v > 0 {
			s.Packages = append(s.Packages, entry(pkg, v))
		}
	}
	sort.Slice(s.Packages, func(i, j int) bool { return s.Packages[i].MS > s.Packages[j].MS })
	s.Packages = s.Packages[:min(len(s.Packages), profileTop)]
	sort.SliceStable(fns, func(i, j int) bool { return fns[i].flat > fns[j].flat })
	for _, f := range fns[:min(len(fns), profileTop)] {
		s.Flat = append(s.Flat, entry(f.name, f.flat))
	}
	sort.SliceStable(fns, func(i, j int) bool { return fns[i].cum > fns[j].cum })
	for _, f := range fns {
		if strings.HasPrefix(f.name, "github.com/lathe-ci/lathe") && len(s.Lathe) < profileTop {
			s.Lathe = append(s.Lathe, entry(strings.TrimPrefix(f.name, "github.com/lathe-ci/lathe/"), f.cum))
		}
	}
	return s, nil
}

// pprofMS parses pprof's durations ("0", "10ms", "1.25s", "2.10mins") to milliseconds.
func pprofMS(s string) (float64, bool) {
	if s == "0" {
		return 0, true
	}
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"mins", 60e3}, {"hrs", 3600e3}, {"ms", 1}, {"us", 1e-3}, {"µs", 1e-3}, {"ns", 1e-6}, {"s", 1e3}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			x, err := strconv.ParseFloat(v, 64)
			return x * u.ms, err == nil
		}
	}
	return 0, false
}

// funcPackage is the import path of a symbol such as
// github.com/lathe-ci/lathe/store.(*Store).Claim or runtime.mallocgc.
func funcPackage(name string) string {
	slash := strings.LastIndexByte(name, '/')
	if dot := strings.IndexByte(name[slash+1:], '.'); dot >= 0 {
		return name[:slash+1+dot]
	}
	return name
}
