package lathetest

import (
	"os"
	"strconv"
	"strings"
)

// Processes returns the PIDs of the live (not zombie) processes on this
// machine whose command line is args: a test finds a step's processes by
// a command line no other process has, from outside the step's PID
// namespace.
func Processes(args ...string) []int {
	want := strings.Join(args, "\x00") + "\x00"
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || string(b) != want {
			continue
		}
		if st, _ := os.ReadFile("/proc/" + e.Name() + "/stat"); !strings.Contains(string(st), ") Z ") {
			pids = append(pids, pid)
		}
	}
	return pids
}
