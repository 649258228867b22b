package agent

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// Host describes the machine this agent runs on.
func Host() lathe.HostInfo {
	name, _ := os.Hostname()
	return lathe.HostInfo{
		Hostname:    name,
		OS:          runtime.GOOS,
		Arch:        runtime.GOARCH,
		CPUs:        runtime.NumCPU(),
		MemoryBytes: memTotal("/proc/meminfo"),
		Version:     lathe.Version,
	}
}

// memTotal reads MemTotal from a /proc/meminfo file, in bytes; 0 when unknown.
func memTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest) // "16318412 kB"
		if len(fields) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb * 1024
	}
	return 0
}
