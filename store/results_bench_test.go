package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/results"
	"github.com/lathe-ci/lathe/store"
)

// junitXML is a JUnit report of n cases in 100 suites; in run number run,
// every 10th case fails on odd runs (a flaky tenth) and every 100th always.
func junitXML(n, run int) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><testsuites>`)
	for s := 0; s < 100; s++ {
		fmt.Fprintf(&b, `<testsuite name="pkg/s%02d">`, s)
		for i := s; i < n; i += 100 {
			switch {
			case i%100 == 0, i%10 == 0 && run%2 == 1:
				fmt.Fprintf(&b, `<testcase classname="pkg.s%02d" name="Test%05d" time="0.004"><failure message="want 1, got 2">case_test.go:%d</failure></testcase>`, s, i, i)
			default:
				fmt.Fprintf(&b, `<testcase classname="pkg.s%02d" name="Test%05d" time="0.001"/>`, s, i)
			}
		}
		b.WriteString(`</testsuite>`)
	}
	b.WriteString(`</testsuites>`)
	return []byte(b.String())
}

// benchEngines runs fn on a fresh SQLite store and a fresh PostgreSQL
// database, each with a project and the same database opened through
// database/sql for the floors.
func benchEngines(b *testing.B, fn func(b *testing.B, s *store.Store, db *sql.DB, projectID int64)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			dsn, driver := filepath.Join(b.TempDir(), "lathe.db"), "sqlite"
			if engine == "postgres" {
				dsn, driver = pgtest.Shared(b).NewDatabase(b), "pgx"
			}
			s, err := store.Open(b.Context(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			db, err := sql.Open(driver, dsn)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			p := &lathe.Project{Name: "bench", URL: "https://example.com/bench.git", DefaultBranch: "main"}
			if err := s.CreateProject(b.Context(), p); err != nil {
				b.Fatal(err)
			}
			fn(b, s, db, p.ID)
		})
	}
}

// ingestRun creates a run with one job and stores its JUnit report as the
// server does: parse, then store.
func ingestRun(ctx context.Context, b *testing.B, s *store.Store, projectID int64, data []byte) int64 {
	r := &lathe.Run{ProjectID: projectID, Pipeline: "ci", Branch: "main", Ref: "refs/heads/main",
		Commit: "0123456789abcdef0123456789abcdef01234567", Event: "push"}
	j := &lathe.Job{Name: "test", Stage: "test", TimeoutSec: 60, Steps: []lathe.StepDef{{Name: "t", Run: "go test"}}}
	if err := s.CreateRun(ctx, store.NewRun{Run: r, Stages: []string{"test"}, Jobs: []*lathe.Job{j}}); err != nil {
		b.Fatal(err)
	}
	cases, err := results.ParseJUnit(data)
	if err != nil {
		b.Fatal(err)
	}
	in := make([]lathe.TestResultInput, len(cases))
	for i, c := range cases {
		in[i] = lathe.TestResultInput{Suite: c.Suite, Name: c.Name, Status: c.Status, DurationMS: c.DurationMS, Message: c.Message}
	}
	if err := s.AddTestResults(ctx, j.ID, "junit.xml", in); err != nil {
		b.Fatal(err)
	}
	return r.ID
}

// floorInsert is the least a database does to keep n results: n rows of
// the same width inserted in one transaction with a prepared statement.
func floorInsert(b *testing.B, db *sql.DB, n int) time.Duration {
	start := time.Now()
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS floor (a INTEGER, b INTEGER, c INTEGER, d TEXT, e INTEGER, f TEXT, g TEXT, h INTEGER)`); err != nil {
		b.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	q := `INSERT INTO floor VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	if !isSQLite(db) {
		q = `INSERT INTO floor VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	}
	st, err := tx.Prepare(q)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, err := st.Exec(1, 2, i, "passed", 1, "", "same", 0); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkIngestJUnit10k stores a JUnit report of 10,000 cases (parse,
// test cases, results with change and instability, branch histories),
// beside the floor of inserting 10,000 plain rows. Target: ≤ 1 s.
func BenchmarkIngestJUnit10k(b *testing.B) { benchEngines(b, benchIngest) }

func benchIngest(b *testing.B, s *store.Store, db *sql.DB, pid int64) {
	ctx := b.Context()
	var ingest, floor time.Duration
	run := 0
	for b.Loop() {
		run++
		data := junitXML(10_000, run)
		start := time.Now()
		ingestRun(ctx, b, s, pid, data)
		ingest += time.Since(start)
		floor += floorInsert(b, db, 10_000)
	}
	b.ReportMetric(float64(ingest.Milliseconds())/float64(run), "ingest-ms")
	b.ReportMetric(float64(floor.Milliseconds())/float64(run), "floor-ms")
	b.ReportMetric(float64(ingest)/float64(floor), "x-floor")
}

// BenchmarkRunTests10kCases50Runs reads the first page of a run's results
// (with the run's totals and warnings) and a filtered page, for a run of
// 10,000 cases with 50 runs of history, beside the floor of reading the
// same page of ids with one indexed query. Target: ≤ 50 ms.
func BenchmarkRunTests10kCases50Runs(b *testing.B) { benchEngines(b, benchRunTests) }

func benchRunTests(b *testing.B, s *store.Store, db *sql.DB, pid int64) {
	ctx := b.Context()
	var last int64
	for run := 1; run <= 50; run++ {
		last = ingestRun(ctx, b, s, pid, junitXML(10_000, run))
	}
	var page, filtered, floor time.Duration
	n := 0
	for b.Loop() {
		n++
		start := time.Now()
		rt, err := s.RunTests(ctx, store.TestFilter{RunID: last, Limit: 50, MaxInstability: -1})
		if err != nil || len(rt.Items) != 50 || rt.Totals.Passed+rt.Totals.Failed != 10_000 {
			b.Fatalf("page: %v %+v", err, rt.Totals)
		}
		page += time.Since(start)
		start = time.Now()
		rt, err = s.RunTests(ctx, store.TestFilter{RunID: last, Limit: 50, Statuses: []string{"passed"}, MinInstability: 5,
			MaxInstability: -1, Text: "test0"})
		if err != nil || len(rt.Items) == 0 {
			b.Fatalf("filtered: %v %d", err, len(rt.Items))
		}
		filtered += time.Since(start)
		start = time.Now()
		rows, err := db.Query(floorPage(db), last)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		rows.Close()
		floor += time.Since(start)
	}
	b.ReportMetric(float64(page.Microseconds())/float64(n)/1000, "page-ms")
	b.ReportMetric(float64(filtered.Microseconds())/float64(n)/1000, "filtered-ms")
	b.ReportMetric(float64(floor.Microseconds())/float64(n)/1000, "floor-ms")
	b.ReportMetric(float64(page)/float64(floor), "x-floor")
}

// floorPage is one indexed read of a page of a run's result ids.
func floorPage(db *sql.DB) string {
	if isSQLite(db) {
		return `SELECT id, status FROM test_results WHERE run_id = ? ORDER BY id DESC LIMIT 51`
	}
	return `SELECT id, status FROM test_results WHERE run_id = $1 ORDER BY id DESC LIMIT 51`
}

func isSQLite(db *sql.DB) bool { return strings.Contains(fmt.Sprintf("%T", db.Driver()), "sqlite") }
