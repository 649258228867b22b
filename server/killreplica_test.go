package server_test

import (
	"bufio"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/internal/pgtest"
)

// The kill -9 scenario's size: CI runs the small one; the full one (issue
// 19: 200 runs, 8 agents) on demand:
//
//	go test ./server -run TestKillReplica -count=1 -v -args -killreplica.runs=200 -killreplica.agents=8
var (
	krRuns   = flag.Int("killreplica.runs", 30, "TestKillReplica: runs in each phase (without and with the kill)")
	krAgents = flag.Int("killreplica.agents", 4, "TestKillReplica: `lathe agent` processes, spread over the 3 replicas")
	// krHang first stops the replica (SIGSTOP) for this long, as a host
	// that stops answering without closing anything, then kills it.
	krHang  = flag.Duration("killreplica.hang", 0, "TestKillReplica: SIGSTOP the replica this long before the SIGKILL")
	krLease = flag.Duration("killreplica.lease", 10*time.Second, "TestKillReplica: the replicas' lease TTL")
)

// killReplicas is how many `lathe server` replicas the scenario runs.
const killReplicas = 3

// killLines is how many numbered lines the long job of each run prints.
const killLines = 20

// killPipeline: count prints numbered lines, check fails for one seed in
// four, after runs when check passed. Every line names the seed, the job and
// the attempt, so a line in the wrong attempt's log shows.
const killPipeline = `
parameters:
  seed: {type: string, default: "0"}
jobs:
  count:
    runs-on: [killreplica]
    steps:
      - for i in $(seq 1 20); do echo "seed $PARAM_SEED job count attempt $LATHE_ATTEMPT line $i"; sleep 0.03; done
  check:
    runs-on: [killreplica]
    needs: [count]
    steps:
      - echo "seed $PARAM_SEED job check attempt $LATHE_ATTEMPT line 1"; test $(( PARAM_SEED % 4 )) -ne 3
  after:
    runs-on: [killreplica]
    needs: [check]
    steps:
      - echo "seed $PARAM_SEED job after attempt $LATHE_ATTEMPT line 1"
`

// replicaProc is one `lathe server` process of the scenario.
type replicaProc struct {
	proc    *lathetest.Process
	l       *lathetest.Lathe
	url     string
	metrics string
}

// startReplicaProcs starts n `lathe server` processes on one PostgreSQL
// database, sharing the first one's secret key and admin token.
func startReplicaProcs(t *testing.T, bin, dsn string, n int) []*replicaProc {
	var out []*replicaProc
	var first string
	for i := range n {
		dir := t.TempDir()
		if i > 0 {
			for _, name := range []string{"secret.key", "admin.token"} {
				b, err := os.ReadFile(filepath.Join(first, name))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		} else {
			first = dir
		}
		addr, metrics := lathetest.FreeAddr(t), lathetest.FreeAddr(t)
		p, l := serverProcess(t, bin, addr, dir, dsn, "--metrics-addr", metrics, "--lease-ttl", krLease.String())
		out = append(out, &replicaProc{proc: p, l: l, url: "http://" + addr, metrics: metrics})
	}
	return out
}

// leads reports whether the replica says it is the leader on /metrics.
func (r *replicaProc) leads() bool {
	resp, err := http.Get("http://" + r.metrics + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), "\nlathe_leader 1\n")
}

// killAgent is one `lathe agent` process and the replica it prefers.
type killAgent struct {
	name string
	home int
	proc *lathetest.Process
}

// phase is one batch of runs, seeds 1…n, and what became of them.
type phase struct {
	runs map[int64]int // run ID → seed
}

// trigger starts runs seeds 1…n through the replicas in turn.
func triggerPhase(t *testing.T, reps []*replicaProc, n int) *phase {
	p := &phase{runs: map[int64]int{}}
	for seed := 1; seed <= n; seed++ {
		// Without a pipeline every pipeline the request selects starts:
		// the project has one.
		var started struct {
			Items []lathe.Run `json:"items"`
		}
		reps[seed%len(reps)].l.Do(t, http.MethodPost, "/api/v1/projects/killreplica/runs",
			map[string]any{"params": map[string]string{"seed": strconv.Itoa(seed)}}, &started)
		if len(started.Items) != 1 {
			t.Fatalf("run %d: %d runs started; want 1", seed, len(started.Items))
		}
		p.runs[started.Items[0].ID] = seed
	}
	return p
}

// finished counts the phase's runs that ended.
func (p *phase) finished(t *testing.T, db *sql.DB) int {
	ids := make([]int64, 0, len(p.runs))
	for id := range p.runs {
		ids = append(ids, id)
	}
	rows, err := db.Query(`SELECT status FROM runs WHERE id = ANY($1)`, ids)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var st lathe.Status
		if err := rows.Scan(&st); err != nil {
			t.Fatal(err)
		}
		if st.Terminal() {
			n++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitPhase waits (bounded) until at least want of the phase's runs ended.
func (p *phase) wait(t *testing.T, db *sql.DB, want int, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%d runs ended", want), func() bool { return p.finished(t, db) >= want })
}

// outcome is a run's result as the comparison sees it: the run's status
// and each job's.
func (p *phase) outcome(t *testing.T, db *sql.DB) map[int]string {
	out := map[int]string{}
	for id, seed := range p.runs {
		var st string
		if err := db.QueryRow(`SELECT status FROM runs WHERE id = $1`, id).Scan(&st); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(`SELECT name, status FROM jobs WHERE run_id = $1 ORDER BY name`, id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			var js lathe.Status
			if err := rows.Scan(&name, &js); err != nil {
				t.Fatal(err)
			}
			if !js.Terminal() {
				t.Errorf("run %d (seed %d): job %s is %s at the end", id, seed, name, js)
			}
			st += " " + name + "=" + string(js)
		}
		rows.Close()
		out[seed] = st
	}
	return out
}

// The kill -9 scenario: 3 `lathe server` replicas on one
// PostgreSQL, `lathe agent` processes spread over them (each given all
// three URLs, its own replica's first). A first phase of runs goes through
// without a kill; in the second, the leading replica is killed with
// SIGKILL once half the runs have ended. Its agents move to the others,
// every job ends, every attempt's log is exactly what its step printed (in
// full for an attempt that finished), no job ever has two attempts alive
// at once nor an agent two attempts, and each run's results equal those of
// the same run in the first phase.
func TestKillReplica(t *testing.T) {
	bin := lathetest.Binary(t)
	dsn := pgtest.Shared(t).NewDatabase(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reps := startReplicaProcs(t, bin, dsn, killReplicas)
	reps[0].l.Project(t, "killreplica", lathetest.Repo(t, map[string]string{".lathe.yml": killPipeline}))
	reg := reps[0].l.RegistrationToken(t)

	agents := make([]*killAgent, *krAgents)
	for i := range agents {
		home := i % len(reps)
		var urls []string
		for k := range reps {
			urls = append(urls, reps[(home+k)%len(reps)].url)
		}
		a := &killAgent{name: fmt.Sprintf("ka-%d", i), home: home}
		a.proc = lathetest.StartProcess(t, bin, "agent", "--server", strings.Join(urls, ","), "--token", reg,
			"--name", a.name, "--labels", "killreplica", "--work-dir", t.TempDir(),
			"--heartbeat", "300ms", "--grace", "1s", "--poll-wait", "5", "--log-level", "info")
		agents[i] = a
	}
	timeout := time.Duration(*krRuns) * 3 * time.Second * 4 / time.Duration(max(*krAgents, 1))
	timeout = max(timeout, 3*time.Minute)

	start := time.Now()
	base := triggerPhase(t, reps, *krRuns)
	base.wait(t, db, *krRuns, timeout)
	baseTook := time.Since(start)

	var victim int
	waitFor(t, 30*time.Second, "one leader", func() bool {
		n := 0
		for i, r := range reps {
			if r.leads() {
				n, victim = n+1, i
			}
		}
		return n == 1
	})
	start = time.Now()
	killed := triggerPhase(t, reps, *krRuns)
	killed.wait(t, db, *krRuns/2, timeout)
	acked := runningLogs(t, db)
	failedAt := time.Now() // the replica stops answering
	if *krHang > 0 {
		before := killed.finished(t, db)
		reps[victim].proc.Signal(t, syscall.SIGSTOP)
		time.Sleep(*krHang)
		t.Logf("replica %d hung for %s; %d more of %d runs ended meanwhile", victim, *krHang, killed.finished(t, db)-before, *krRuns)
	}
	reps[victim].proc.Signal(t, syscall.SIGKILL)
	killedAt := time.Now()
	reps[victim].proc.Wait(t, 10*time.Second)
	t.Logf("killed replica %d (the leader) with %d of %d runs ended and %d attempts running (%d log bytes stored)",
		victim, killed.finished(t, db), *krRuns, len(acked), ackedBytes(acked))
	killed.wait(t, db, *krRuns, timeout)
	killTook := time.Since(start)

	// Its agents moved to the others.
	var moves []time.Duration
	for _, a := range agents {
		if a.home != victim {
			continue
		}
		var at time.Time
		waitFor(t, 30*time.Second, a.name+" moved to another replica", func() bool {
			var ok bool
			at, ok = movedAt(a.proc.Output.String(), reps[victim].url)
			return ok
		})
		moves = append(moves, at.Sub(failedAt).Round(time.Millisecond))
	}
	slices.Sort(moves)

	if b, k := base.outcome(t, db), killed.outcome(t, db); !mapsEqual(b, k) {
		for seed, want := range b {
			if k[seed] != want {
				t.Errorf("seed %d: with the kill %q, without %q", seed, k[seed], want)
			}
		}
	}
	checkAttempts(t, db, acked)
	rerunBase := rerunJobs(t, db, base)
	rerunKill := rerunJobs(t, db, killed)
	if rerunBase != 0 {
		t.Errorf("%d jobs ran more than once without a kill", rerunBase)
	}
	t.Logf("%d runs × 2 phases, %d agents on %d replicas: without the kill %s, with it %s",
		*krRuns, len(agents), len(reps), baseTook.Round(time.Millisecond), killTook.Round(time.Millisecond))
	t.Logf("the killed replica's %d agents were answered by another replica this long after it stopped answering: %v",
		len(moves), moves)
	t.Logf("jobs run again because of the kill: %d; last run ended %s after the kill",
		rerunKill, time.Since(killedAt).Round(time.Millisecond))
}

// moveLine is the agent's log line when it moves to another server.
var moveLine = regexp.MustCompile(`^time=(\S+) .*msg="moved to another server" .*from=(\S+) `)

// movedAt finds when the agent first moved away from url, in its output.
func movedAt(out, url string) (time.Time, bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		m := moveLine.FindStringSubmatch(sc.Text())
		if m == nil || m[2] != url {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		return at, err == nil
	}
	return time.Time{}, false
}

func mapsEqual(a, b map[int]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// rerunJobs counts the phase's jobs that took more than one attempt.
func rerunJobs(t *testing.T, db *sql.DB, p *phase) int {
	n := 0
	for id := range p.runs {
		var c int
		err := db.QueryRow(`SELECT count(*) FROM jobs j WHERE j.run_id = $1
			AND (SELECT count(*) FROM attempts a WHERE a.job_id = j.id) > 1`, id).Scan(&c)
		if err != nil {
			t.Fatal(err)
		}
		n += c
	}
	return n
}
