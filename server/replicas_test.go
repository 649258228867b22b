package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/server"
)

// startReplica starts another server on first's PostgreSQL database, with
// first's secret key and admin token, as an operator adds a replica.
func startReplica(tb testing.TB, first *lathetest.Lathe, dsn string, agents int) *lathetest.Lathe {
	tb.Helper()
	return lathetest.Start(tb, lathetest.Options{DataDir: replicaDir(tb, first), DatabaseURL: dsn, Agents: agents})
}

// replicaDir is a data directory for another replica of first's: its
// secret key and admin token.
func replicaDir(tb testing.TB, first *lathetest.Lathe) string {
	tb.Helper()
	dir := tb.TempDir()
	for _, name := range []string{"secret.key", "admin.token"} {
		b, err := os.ReadFile(filepath.Join(first.DataDir, name))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

const replicaLogPipeline = `
jobs:
  talk:
    steps:
      - for i in 1 2 3 4 5 6; do echo "line $i"; sleep 0.1; done
`

// A job queued through replica B reaches the agent long-polling replica A,
// and a follower of its log on B sees every byte the agent wrote through A:
// the replicas hear each other through PostgreSQL.
func TestReplicasWakeEachOther(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	a := lathetest.Start(t, lathetest.Options{DatabaseURL: dsn, Agents: 1})
	b := startReplica(t, a, dsn, -1)
	b.Project(t, "talk", lathetest.Repo(t, map[string]string{".lathe.yml": replicaLogPipeline}))
	run := b.Trigger(t, "talk", "", "")
	jobID := run.Jobs[0].ID

	var got strings.Builder
	ended := false
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := b.Client.Stream(ctx, fmt.Sprintf("/api/v1/jobs/%d/log/stream", jobID), "", func(ev client.Event) error {
		switch ev.Name {
		case "log":
			var le logEvent
			if err := json.Unmarshal(ev.Data, &le); err != nil {
				return err
			}
			got.WriteString(le.Text)
		case "end":
			ended = true
		}
		return nil
	})
	if err != nil || !ended {
		t.Fatalf("log stream on B: err %v, end event %v", err, ended)
	}
	if full := a.Log(t, jobID); got.String() != full || !strings.Contains(full, "line 6") {
		t.Errorf("followed on B %q, stored %q", got.String(), full)
	}
	if r := b.Wait(t, run.ID, 30*time.Second); r.Status != "success" {
		t.Errorf("run %s, want success", r.Status)
	}
	if a.Server.Notifier().Received() == 0 || b.Server.Notifier().Received() == 0 {
		t.Errorf("A heard %d messages from B, B %d from A: want both > 0",
			a.Server.Notifier().Received(), b.Server.Notifier().Received())
	}
	if n := a.Server.Notifier().Peers(); n != 1 {
		t.Errorf("A hears %d other replicas, want 1", n)
	}
}

// One replica leads; when it stops, the other takes the lead.
func TestReplicasElectOneLeader(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	a := lathetest.Start(t, lathetest.Options{DatabaseURL: dsn, Agents: -1})
	b := startReplica(t, a, dsn, -1)
	leaders := func() (n int, first *lathetest.Lathe, other *lathetest.Lathe) {
		for _, l := range []*lathetest.Lathe{a, b} {
			if l.Server.Leader() {
				n++
				first = l
			} else {
				other = l
			}
		}
		return n, first, other
	}
	deadline := time.Now().Add(30 * time.Second)
	n, lead, follower := leaders()
	for n != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n, lead, follower = leaders()
	}
	if n != 1 {
		t.Fatalf("%d leaders, want 1", n)
	}
	// The leader holds its lock, the other tries it every second, each on
	// one session kept for that: over three tries, the same two sessions.
	db, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	sessions := func() []int32 {
		rows, err := db.Query(t.Context(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 ORDER BY pid`, server.LeaderSessionName)
		if err != nil {
			t.Fatal(err)
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		return pids
	}
	// The follower opens its session at its first try, which on a loaded
	// machine may come after the leader was found.
	before := sessions()
	for len(before) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		before = sessions()
	}
	time.Sleep(3*server.DefaultLeaderRetry + 500*time.Millisecond)
	if after := sessions(); len(before) != 2 || !slices.Equal(before, after) {
		t.Errorf("leader sessions %v, then %v: want the same two", before, after)
	}
	stopped := time.Now()
	lead.Stop()
	for !follower.Server.Leader() && time.Now().Before(deadline.Add(30*time.Second)) {
		time.Sleep(20 * time.Millisecond)
	}
	if !follower.Server.Leader() {
		t.Fatal("the other replica did not take the lead after the leader stopped")
	}
	t.Logf("took the lead %s after the leader stopped", time.Since(stopped).Round(time.Millisecond))
}

// On SQLite the one server leads.
func TestSQLiteServerLeads(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	deadline := time.Now().Add(30 * time.Second)
	for !l.Server.Leader() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !l.Server.Leader() {
		t.Fatal("the SQLite server does not lead")
	}
}

// BenchmarkReplicaLatency measures, on two replicas of one PostgreSQL
// database, how long a job queued through one replica waits for the idle
// agent long-polling the other (run started − created), and how far behind
// a log follower on either replica is, beside the same numbers within one
// replica (the floor). A follower's lag is measured twice: from the time
// the server stored each line (its arrival time, read back with
// ?timestamps=true) to the follower seeing it, which is what the replicas
// add; and from the step printing it, which adds the agent's report pacing
// (agent/shipper.go: 50–250 ms while output keeps coming).
func BenchmarkReplicaLatency(b *testing.B) {
	dsn := pgtest.Shared(b).NewDatabase(b)
	a := lathetest.Start(b, lathetest.Options{DatabaseURL: dsn, Agents: 1})
	r := startReplica(b, a, dsn, -1)
	pipeline := `
jobs:
  tick:
    steps:
      - for i in $(seq 20); do echo "T=$(date +%s%N)"; sleep 0.05; done
`
	a.Project(b, "tick", lathetest.Repo(b, map[string]string{".lathe.yml": pipeline}))
	var wakeSame, wakeCross, logSame, logCross, storedSame, storedCross []time.Duration
	runs := max(b.N, 10)
	for i := range runs {
		via := a
		if i%2 == 1 {
			via = r
		}
		run := via.Trigger(b, "tick", "", "")
		jobID := run.Jobs[0].ID
		// follow records when each line was printed (into) and when the
		// follower saw the line starting at each offset (seen).
		follow := func(l *lathetest.Lathe, into *[]time.Duration, seen map[int64]time.Time, done chan<- struct{}) {
			defer close(done)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			atLineStart := true
			l.Client.Stream(ctx, fmt.Sprintf("/api/v1/jobs/%d/log/stream", jobID), "", func(ev client.Event) error {
				if ev.Name != "log" {
					return nil
				}
				now := time.Now()
				var le logEvent
				json.Unmarshal(ev.Data, &le)
				off := le.Offset
				for _, line := range strings.SplitAfter(le.Text, "\n") {
					if line == "" {
						continue
					}
					if atLineStart {
						seen[off] = now
					}
					off += int64(len(line))
					atLineStart = strings.HasSuffix(line, "\n")
					if ns, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "T=")), 10, 64); err == nil {
						*into = append(*into, now.Sub(time.Unix(0, ns)))
					}
				}
				return nil
			})
		}
		seenSame, seenCross := map[int64]time.Time{}, map[int64]time.Time{}
		same, cross := make(chan struct{}), make(chan struct{})
		go follow(a, &logSame, seenSame, same)
		go follow(r, &logCross, seenCross, cross)
		<-same
		<-cross
		stored := lineArrivals(b, via, jobID)
		for off, at := range stored {
			if t, ok := seenSame[off]; ok {
				storedSame = append(storedSame, t.Sub(at))
			}
			if t, ok := seenCross[off]; ok {
				storedCross = append(storedCross, t.Sub(at))
			}
		}
		done := via.Wait(b, run.ID, 60*time.Second)
		if done.StartedAt != nil {
			d := done.StartedAt.Sub(done.CreatedAt)
			if via == a {
				wakeSame = append(wakeSame, d)
			} else {
				wakeCross = append(wakeCross, d)
			}
		}
	}
	report := func(name, unit string, ds []time.Duration) {
		if len(ds) == 0 {
			return
		}
		slices.Sort(ds)
		p := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
		b.Logf("%-40s n=%4d p50 %8s p99 %8s max %8s", name, len(ds), p(0.5).Round(100*time.Microsecond),
			p(0.99).Round(100*time.Microsecond), ds[len(ds)-1].Round(100*time.Microsecond))
		b.ReportMetric(float64(p(0.99).Microseconds())/1000, unit+"-p99-ms")
	}
	report("job wake, same replica (floor)", "wake-same", wakeSame)
	report("job wake, other replica", "wake-cross", wakeCross)
	report("log stored→seen, same replica (floor)", "stored-same", storedSame)
	report("log stored→seen, other replica", "stored-cross", storedCross)
	report("log printed→seen, same replica", "log-same", logSame)
	report("log printed→seen, other replica", "log-cross", logCross)
}

// lineArrivals reads a job's log with ?timestamps=true and returns the
// time the server stored each line, by the offset of its first byte.
func lineArrivals(tb testing.TB, l *lathetest.Lathe, jobID int64) map[int64]time.Time {
	tb.Helper()
	resp, err := l.Client.Request(context.Background(), "GET", fmt.Sprintf("/api/v1/jobs/%d/log?timestamps=true", jobID), nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("log with timestamps: %d %v", resp.StatusCode, err)
	}
	out := map[int64]time.Time{}
	off := int64(0)
	for _, line := range strings.SplitAfter(string(body), "\n") {
		if line == "" {
			continue
		}
		stamp, rest, ok := strings.Cut(line, " ")
		if !ok {
			tb.Fatalf("log line %q has no time stamp", line)
		}
		if at, err := time.Parse(lathe.LogTimeLayout, stamp); err == nil {
			out[off] = at
		}
		off += int64(len(rest))
	}
	return out
}
