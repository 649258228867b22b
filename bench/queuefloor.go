package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the driver Lathe's store uses for PostgreSQL
	_ "modernc.org/sqlite"             // and for SQLite
)

// The server floor: the least a CI server does per job on this machine —
// a plain net/http server (this binary run as a child with queueFloorArg)
// over the same database engine and settings as Lathe, whose agents
// long-poll a claim and post a finish with the job's log. Per job it does
// what no server that keeps its promises can skip: the agent's bearer
// token checked, one durable claim (the oldest queued job, fenced to one
// claimer) and one durable finish (the job's result and its log bytes in
// one transaction, fenced to the claimer), with enqueues a hundred jobs per
// transaction and long-polls woken in process. No pipelines, stages, runs,
// steps, leases, retries, roll-ups, secrets, notifier or metrics. Its CPU
// per job is set beside the Lathe server's, measured in the same run.

// queueFloorArg makes this binary serve the floor (see serveQueueFloor).
const queueFloorArg = "serve-queue-floor"

// queueFloorTokens is how many agent tokens the floor server accepts:
// "floor-agent-0" … (the workers use the first ones).
const queueFloorTokens = 64

// floorDialect is what differs between the engines in the floor's SQL.
type floorDialect struct {
	id, bigint, bytes string // column types
	skipLocked        string // how concurrent claimers skip each other's row
	rebind            func(string) string
}

var floorDialects = map[string]floorDialect{
	"sqlite": {id: "INTEGER PRIMARY KEY", bigint: "INTEGER", bytes: "BLOB", rebind: func(q string) string { return q }},
	"postgres": {id: "BIGSERIAL PRIMARY KEY", bigint: "BIGINT", bytes: "BYTEA", skipLocked: " FOR UPDATE SKIP LOCKED",
		rebind: dollarPlaceholders},
}

// schema creates the floor's tables. They have names of their own and are
// made anew, as a database given with -postgres is shared with the Lathe
// servers.
func (d floorDialect) schema() []string {
	types := strings.NewReplacer("{id}", d.id, "{bigint}", d.bigint, "{bytes}", d.bytes)
	return []string{
		`DROP TABLE IF EXISTS floor_logs`, `DROP TABLE IF EXISTS floor_jobs`,
		types.Replace(`CREATE TABLE floor_jobs (id {id}, run {bigint} NOT NULL, name TEXT NOT NULL, script TEXT NOT NULL,
			status INTEGER NOT NULL DEFAULT 0, agent TEXT, exit_code INTEGER,
			queued_at {bigint} NOT NULL, started_at {bigint}, finished_at {bigint})`),
		`CREATE INDEX floor_jobs_queue ON floor_jobs (status, id)`,
		types.Replace(`CREATE TABLE floor_logs (job_id {bigint} NOT NULL, off {bigint} NOT NULL, bytes {bytes} NOT NULL, PRIMARY KEY (job_id, off))`),
	}
}

// claim takes the oldest queued job of runs lo…hi for an agent at a time;
// on PostgreSQL concurrent claimers skip each other's row, as Lathe's do.
// The runs are the drain's: a claim of an earlier drain that the server
// still serves after its worker gave up on it (the drain ended) must not
// take, and lose, a job of the next.
func (d floorDialect) claim() string {
	return d.rebind(`UPDATE floor_jobs SET status = 1, agent = ?, started_at = ?
		WHERE id = (SELECT id FROM floor_jobs WHERE status = 0 AND run BETWEEN ? AND ? ORDER BY id LIMIT 1` + d.skipLocked + `)
		RETURNING id, name, script`)
}

// queueFloorJob is what a claim answers.
type queueFloorJob struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Script string `json:"script"`
}

// queueFloorFinish is what a worker posts when its job ended.
type queueFloorFinish struct {
	ExitCode int    `json:"exit_code"`
	Log      []byte `json:"log"`
}

// queueFloorEnqueue is a trigger: the jobs of one run.
type queueFloorEnqueue struct {
	Run  int64           `json:"run"`
	Jobs []queueFloorJob `json:"jobs"`
}

type queueFloorServer struct {
	db     *sql.DB
	d      floorDialect
	claimQ string
	tokens map[[32]byte]string // sha256 of a token → its agent

	mu   sync.Mutex
	wake chan struct{} // closed (and replaced) when jobs are queued
}

// serveQueueFloor serves the floor over the database given as "sqlite PATH"
// or "postgres URL" on 127.0.0.1, prints its URL, and returns at SIGTERM.
func serveQueueFloor(args []string) int {
	if err := runQueueFloor(args); err != nil {
		fmt.Fprintln(os.Stderr, "queue floor:", err)
		return 1
	}
	return 0
}

func runQueueFloor(args []string) error {
	d, ok := floorDialects[args[0]]
	if len(args) != 2 || !ok {
		return fmt.Errorf("usage: %s sqlite PATH | postgres URL", queueFloorArg)
	}
	s := &queueFloorServer{d: d, claimQ: d.claim(), tokens: map[[32]byte]string{}, wake: make(chan struct{})}
	var err error
	if args[0] == "sqlite" {
		s.db, err = openFloorSQLite(args[1])
	} else {
		s.db, err = sql.Open("pgx", args[1])
		s.db.SetMaxOpenConns(16)
		s.db.SetMaxIdleConns(16)
	}
	if err != nil {
		return err
	}
	defer s.db.Close()
	for _, q := range d.schema() {
		if _, err := s.db.Exec(q); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
	}
	for i := range queueFloorTokens {
		s.tokens[sha256.Sum256([]byte(queueFloorToken(i)))] = "floor-agent-" + strconv.Itoa(i)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /enqueue", s.enqueue)
	mux.HandleFunc("POST /claim", s.agent(s.claim))
	mux.HandleFunc("POST /finish/{id}", s.agent(s.finish))
	return serveFloor(mux)
}

// openFloorSQLite opens path as Lathe opens its SQLite database: WAL,
// synchronous=NORMAL, one writer connection with immediate transactions.
func openFloorSQLite(path string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, db.Ping()
}

func queueFloorToken(i int) string { return "floor-token-" + strconv.Itoa(i) }

// dollarPlaceholders numbers the ? placeholders of q as $1, $2, ….
func dollarPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// agent checks the bearer token (by its hash, as Lathe looks tokens up)
// before h runs, with the agent it names.
func (s *queueFloorServer) agent(h func(w http.ResponseWriter, r *http.Request, agent string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		agent, known := s.tokens[sha256.Sum256([]byte(tok))]
		if !ok || !known {
			http.Error(w, "unknown agent", http.StatusUnauthorized)
			return
		}
		h(w, r, agent)
	}
}

func (s *queueFloorServer) enqueue(w http.ResponseWriter, r *http.Request) {
	var e queueFloorEnqueue
	if err := json.NewDecoder(r.Body).Decode(&e); err != nil || len(e.Jobs) == 0 {
		http.Error(w, "bad enqueue", http.StatusBadRequest)
		return
	}
	err := s.inTx(r.Context(), func(tx *sql.Tx) error {
		now := time.Now().UnixMicro()
		for rest := e.Jobs; len(rest) > 0; {
			n := min(len(rest), 100)
			args := make([]any, 0, 4*n)
			for _, j := range rest[:n] {
				args = append(args, e.Run, j.Name, j.Script, now)
			}
			q := `INSERT INTO floor_jobs (run, name, script, queued_at) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", n), ", ")
			if _, err := tx.ExecContext(r.Context(), s.d.rebind(q), args...); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// claim answers the oldest queued job of runs ?lo= to ?hi=, or waits up to
// ?wait= seconds for one to be queued (204 if none was).
func (s *queueFloorServer) claim(w http.ResponseWriter, r *http.Request, agent string) {
	q := r.URL.Query()
	wait, _ := strconv.Atoi(q.Get("wait"))
	lo, err1 := strconv.ParseInt(q.Get("lo"), 10, 64)
	hi, err2 := strconv.ParseInt(q.Get("hi"), 10, 64)
	if err1 != nil || err2 != nil {
		http.Error(w, "claim: lo and hi (the runs to claim from) are required", http.StatusBadRequest)
		return
	}
	deadline := time.NewTimer(time.Duration(wait) * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		woken := s.wake
		s.mu.Unlock()
		var j queueFloorJob
		err := s.db.QueryRowContext(r.Context(), s.claimQ, agent, time.Now().UnixMicro(), lo, hi).Scan(&j.ID, &j.Name, &j.Script)
		switch {
		case err == nil:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(j)
			return
		case !errors.Is(err, sql.ErrNoRows):
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		select {
		case <-woken:
		case <-deadline.C:
			w.WriteHeader(http.StatusNoContent)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// finish stores the job's result and its log in one transaction, only
// from the agent that claimed it and only once.
func (s *queueFloorServer) finish(w http.ResponseWriter, r *http.Request, agent string) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var f queueFloorFinish
	if err == nil {
		err = json.NewDecoder(r.Body).Decode(&f)
	}
	if err != nil {
		http.Error(w, "bad finish", http.StatusBadRequest)
		return
	}
	fenced := false
	err = s.inTx(r.Context(), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(r.Context(), s.d.rebind(`UPDATE floor_jobs SET status = 2, exit_code = ?, finished_at = ? WHERE id = ? AND agent = ? AND status = 1`),
			f.ExitCode, time.Now().UnixMicro(), id, agent)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			fenced = true
			return errors.Join(err, errors.New("not this agent's running job"))
		}
		_, err = tx.ExecContext(r.Context(), s.d.rebind(`INSERT INTO floor_logs (job_id, off, bytes) VALUES (?, 0, ?)`), id, f.Log)
		return err
	})
	switch {
	case fenced:
		http.Error(w, err.Error(), http.StatusConflict)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}\n"))
	}
}

func (s *queueFloorServer) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
