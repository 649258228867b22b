package executor

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procStat returns the fields of /proc/PID/stat that follow the command
// (which may hold spaces and parentheses, so it ends at the last ')'):
// [0] is the state, [1] the parent's PID, [19] the start time in clock
// ticks since boot.
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return nil, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	return f, nil
}

// startTime is when process pid started, in clock ticks since boot.
func startTime(pid int) (uint64, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// running tells whether process pid exists and is not a zombie.
func running(pid int) bool {
	f, err := procStat(pid)
	return err == nil && f[0] != "Z"
}

// childOf returns a child process of pid, or 0.
func childOf(pid int) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	want := strconv.Itoa(pid)
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, err := procStat(c); err == nil && f[1] == want {
			return c
		}
	}
	return 0
}
