package executor

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// A record of the process groups a job's steps started lets an agent that
// was killed (kill -9, a crash, a power cut of the agent alone) stop them
// when it starts again, before it takes new work: a job must never run on
// beside its own retry. Each line is "PGID STARTTIME", the start time (from
// /proc) telling the group's leader from a later process given its PID.

// groupsFile is where a shell job records its process groups, in its control directory.
const groupsFile = "process-groups"

// recordGroup appends the group whose leader is pid to the record at path.
func recordGroup(path string, pid int) error {
	start, err := startTime(pid)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%d %d\n", pid, start)
	return err
}

// KillRecorded kills every process group recorded in a job's control
// directory whose leader is still the process that was recorded. It
// returns how many groups it killed.
func KillRecorded(controlDir string) int {
	b, err := os.ReadFile(controlDir + "/" + groupsFile)
	if err != nil {
		return 0
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		pid, err1 := strconv.Atoi(f[0])
		start, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil || pid <= 1 {
			continue
		}
		if now, err := startTime(pid); err == nil && now == start {
			if syscall.Kill(-pid, syscall.SIGKILL) == nil {
				n++
			}
		}
	}
	return n
}
