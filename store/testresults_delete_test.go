package store_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/store"
)

// Test results have one foreign key, their job's (migration 00095): they
// go with a deleted stage or project through the job, and a project takes
// its test cases and their branch histories too.
func TestDeletingAStageOrProjectRemovesItsTestResults(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := t.Context()
			dsn, driver := filepath.Join(t.TempDir(), "lathe.db"), "sqlite"
			if engine == "postgres" {
				dsn, driver = pgtest.Shared(t).NewDatabase(t), "pgx"
			}
			s := open(t, dsn)
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			count := func(query string, args ...any) int {
				t.Helper()
				if engine == "postgres" {
					query = dollars(query)
				}
				var n int
				if err := db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
					t.Fatalf("%s: %v", query, err)
				}
				return n
			}
			p := mustProject(t, s, "web")
			compile, unit := job("compile", "build"), job("unit", "test")
			r := mustRun(t, s, p.ID, "ci", []string{"build", "test"}, compile, unit)
			cases := []lathe.TestResultInput{
				{Suite: "pkg", Name: "TestA", Status: "passed"},
				{Suite: "pkg", Name: "TestB", Status: "failed", Message: "want 1"},
			}
			for _, j := range []*lathe.Job{compile, unit} {
				if err := s.AddTestResults(ctx, j.ID, "junit.xml", cases); err != nil {
					t.Fatalf("results of %s: %v", j.Name, err)
				}
			}
			if n := count(`SELECT count(*) FROM test_results WHERE run_id = ?`, r.ID); n != 4 {
				t.Fatalf("%d results stored, want 4", n)
			}
			if err := s.CancelRun(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			stages, err := s.Stages(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range stages {
				if st.Name != "test" {
					continue
				}
				if _, _, err := s.DeleteStage(ctx, st.ID); err != nil {
					t.Fatalf("delete stage test: %v", err)
				}
			}
			if n := count(`SELECT count(*) FROM test_results WHERE job_id = ?`, unit.ID); n != 0 {
				t.Errorf("%d results of the deleted stage's job left", n)
			}
			if n := count(`SELECT count(*) FROM test_results WHERE job_id = ?`, compile.ID); n != 2 {
				t.Errorf("%d results of the other stage's job, want 2", n)
			}
			rt, err := s.RunTests(ctx, store.TestFilter{RunID: r.ID, Limit: 10, MaxInstability: -1})
			if err != nil {
				t.Fatal(err)
			}
			if len(rt.Items) != 2 || rt.Totals.Passed+rt.Totals.Failed != 2 {
				t.Errorf("run lists %d results, totals %+v; want the 2 of compile", len(rt.Items), rt.Totals)
			}

			if err := s.DeleteProject(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"test_results", "test_cases", "test_case_branches", "job_reports"} {
				if n := count(`SELECT count(*) FROM ` + table); n != 0 {
					t.Errorf("%d rows left in %s after the project was deleted", n, table)
				}
			}
		})
	}
}

// dollars writes a query's ? placeholders as PostgreSQL's $1, $2, ….
func dollars(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
