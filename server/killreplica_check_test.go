package server_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
)

// storedLog reads an attempt's log from the database, failing the test
// unless its chunks follow one another with no gap or overlap up to the
// attempt's log_size.
func storedLog(t *testing.T, db *sql.DB, attemptID, size int64) string {
	t.Helper()
	rows, err := db.Query(`SELECT off, size, data FROM log_chunks WHERE attempt_id = $1 ORDER BY off`, attemptID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var buf bytes.Buffer
	for rows.Next() {
		var off, n int64
		var data []byte
		if err := rows.Scan(&off, &n, &data); err != nil {
			t.Fatal(err)
		}
		if off != int64(buf.Len()) || n != int64(len(data)) {
			t.Errorf("attempt %d: chunk at %d of %d bytes (%d stored) after %d bytes: a gap or an overlap",
				attemptID, off, n, len(data), buf.Len())
		}
		buf.Write(data)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if size >= 0 && int64(buf.Len()) != size {
		t.Errorf("attempt %d: chunks hold %d bytes, log_size says %d", attemptID, buf.Len(), size)
	}
	return buf.String()
}

// runningLogs is what the database holds of each running attempt's log:
// bytes the agents were told are stored.
func runningLogs(t *testing.T, db *sql.DB) map[int64]string {
	t.Helper()
	rows, err := db.Query(`SELECT id FROM attempts WHERE status = $1`, lathe.StatusRunning)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	out := map[int64]string{}
	for _, id := range ids {
		out[id] = storedLog(t, db, id, -1)
	}
	return out
}

func ackedBytes(logs map[int64]string) int {
	n := 0
	for _, l := range logs {
		n += len(l)
	}
	return n
}

// killAttempt is an attempt as the checks read it.
type killAttempt struct {
	id, jobID, agentID, number int64
	job                        string
	status                     lathe.Status
	logSize, complete          int64
	created, started, finished sql.NullInt64
}

// stepLine is a line a step of the kill pipeline prints.
var stepLine = regexp.MustCompile(`^seed (\d+) job (\w+) attempt (\d+) line (\d+)$`)

// checkAttempts holds every attempt in the database to the scenario's
// rules: it ended; its log is contiguous and holds the lines its step
// printed, each once, in order, all of them when it finished, and starts
// with what was stored before the kill (acked); a job's attempts never
// overlap, nor do an agent's.
func checkAttempts(t *testing.T, db *sql.DB, acked map[int64]string) {
	t.Helper()
	rows, err := db.Query(`SELECT a.id, a.job_id, a.agent_id, a.number, j.name, a.status, a.log_size, a.log_complete,
			a.created_at, a.started_at, a.finished_at
		FROM attempts a JOIN jobs j ON j.id = a.job_id ORDER BY a.job_id, a.number`)
	if err != nil {
		t.Fatal(err)
	}
	var all []killAttempt
	for rows.Next() {
		var a killAttempt
		if err := rows.Scan(&a.id, &a.jobID, &a.agentID, &a.number, &a.job, &a.status, &a.logSize, &a.complete,
			&a.created, &a.started, &a.finished); err != nil {
			t.Fatal(err)
		}
		all = append(all, a)
	}
	rows.Close()
	want := map[string]int{"count": killLines, "check": 1, "after": 1}
	byAgent := map[int64][]killAttempt{}
	for i, a := range all {
		if !a.status.Terminal() || !a.finished.Valid {
			t.Errorf("attempt %d (%s #%d) is %s at the end", a.id, a.job, a.number, a.status)
			continue
		}
		log := storedLog(t, db, a.id, a.logSize)
		if pre, ok := acked[a.id]; ok && !strings.HasPrefix(log, pre) {
			t.Errorf("attempt %d: the %d bytes stored before the kill are not the start of its final log", a.id, len(pre))
		}
		finished := a.status == lathe.StatusSuccess || a.status == lathe.StatusFailed
		if finished && a.complete != 1 {
			t.Errorf("attempt %d (%s) ended %s with its log marked incomplete", a.id, a.job, a.status)
		}
		if err := checkStepLines(log, a.job, a.number, want[a.job], finished); err != nil {
			t.Errorf("attempt %d (%s #%d, %s): %v\nlog:\n%s", a.id, a.job, a.number, a.status, err, log)
		}
		if i > 0 && all[i-1].jobID == a.jobID && a.created.Int64 < all[i-1].finished.Int64 {
			t.Errorf("job %d: attempt #%d created before attempt #%d ended: two alive at once", a.jobID, a.number, all[i-1].number)
		}
		if a.started.Valid {
			byAgent[a.agentID] = append(byAgent[a.agentID], a)
		}
	}
	for agent, as := range byAgent {
		for i := range as {
			for k := range i {
				x, y := as[k], as[i]
				if x.started.Int64 < y.finished.Int64 && y.started.Int64 < x.finished.Int64 {
					t.Errorf("agent %d ran attempts %d and %d at once", agent, x.id, y.id)
				}
			}
		}
	}
	if len(all) == 0 {
		t.Error("no attempts in the database")
	}
}

// checkStepLines checks the step's lines in an attempt's log: they name
// the job and attempt, one seed, and count 1, 2, … without a gap or a
// repeat, to n when the attempt finished.
func checkStepLines(log, job string, attempt int64, n int, finished bool) error {
	next, seed := 1, ""
	for _, line := range strings.Split(log, "\n") {
		if !strings.HasPrefix(line, "seed ") {
			continue
		}
		m := stepLine.FindStringSubmatch(line)
		if m == nil {
			return fmt.Errorf("line %q is not one the step printed", line)
		}
		if seed == "" {
			seed = m[1]
		}
		if m[1] != seed || m[2] != job || m[3] != strconv.FormatInt(attempt, 10) || m[4] != strconv.Itoa(next) {
			return fmt.Errorf("line %q where the step's line %d of seed %s, job %s, attempt %d was due", line, next, seed, job, attempt)
		}
		next++
	}
	if finished && next != n+1 {
		return fmt.Errorf("%d of the step's %d lines", next-1, n)
	}
	if next > n+1 {
		return fmt.Errorf("%d lines, more than the step's %d", next-1, n)
	}
	return nil
}
