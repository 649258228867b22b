package store_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/store"
)

// A sweep lists expired leases outside any transaction, then changes each
// attempt in a transaction of its own under its run's lock. Whatever the
// agent did in between wins: a heartbeat that renewed the lease keeps the
// attempt running, a finish keeps its result.
func TestSweepRechecksTheLeaseItListed(t *testing.T) {
	for _, tc := range []struct {
		name string
		// meanwhile is what happens between the listing and the change.
		meanwhile  func(t *testing.T, s *store.Store, a *lathe.Agent, as *lathe.Assignment)
		wantStatus lathe.Status // of the attempt
	}{
		{"a heartbeat renewed the lease", func(t *testing.T, s *store.Store, a *lathe.Agent, as *lathe.Assignment) {
			mustReport(t, s, a, as.AttemptID, &lathe.Report{Log: []byte("alive\n")})
		}, lathe.StatusRunning},
		{"the agent finished", func(t *testing.T, s *store.Store, a *lathe.Agent, as *lathe.Assignment) {
			finish(t, s, a, as, lathe.StatusSuccess)
		}, lathe.StatusSuccess},
		{"another sweeper marked it lost", func(t *testing.T, s *store.Store, a *lathe.Agent, as *lathe.Assignment) {
			if lost, err := store.ExpireListed(t.Context(), s, as.AttemptID, policy.InfraRetries); err != nil || !lost {
				t.Fatalf("first sweeper: lost %v, %v; want lost", lost, err)
			}
		}, lathe.StatusLost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, s *store.Store) {
				c := withClock(s)
				a, as := runningAttempt(t, s)
				c.Advance(store.DefaultLeaseTTL + time.Second) // the listing sees it expired
				tc.meanwhile(t, s, a, as)
				lost, err := store.ExpireListed(t.Context(), s, as.AttemptID, policy.InfraRetries)
				if err != nil || lost {
					t.Fatalf("expiry of the listed attempt: lost %v, %v; want it left alone", lost, err)
				}
				j := mustJob(t, s, as.JobID)
				if len(j.Attempts) != 1 || j.Attempts[0].Status != tc.wantStatus {
					t.Errorf("job = %s with attempts %+v; want its one attempt %s", j.Status, j.Attempts, tc.wantStatus)
				}
			})
		})
	}
}

// On PostgreSQL, writers of one attempt really interleave: a report reads
// the attempt before it takes any lock. Each case holds a row lock from a
// connection of its own so that the sweep and the agent's report queue for
// it in a known order, then lets them go:
//   - a heartbeat that read the attempt as running, then waited while the
//     sweep marked it lost, is fenced (the lease renewal re-checks the
//     status), and its log bytes do not land;
//   - so is a finish that waited for the run's lock behind the sweep;
//   - a sweep that waited for the run's lock while a heartbeat renewed the
//     lease leaves the attempt running.
//
// SQLite runs one write transaction at a time, so a report there never sees
// a sweep commit halfway through it.
func TestReportMeetingTheSweepOnPostgreSQL(t *testing.T) {
	for _, tc := range []struct {
		name string
		// lock is the row the test holds: "attempts" or "runs".
		lock string
		// reportFirst runs the report to its end while the sweep waits;
		// otherwise the report queues behind the sweep.
		reportFirst bool
		report      *lathe.Report
		wantFenced  bool
	}{
		{"heartbeat behind the sweep", "attempts", false, &lathe.Report{Log: []byte("zombie\n")}, true},
		{"finish behind the sweep", "runs", false, &lathe.Report{Log: []byte("zombie\n"),
			Finish: &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: 7}}, true},
		{"sweep behind a heartbeat", "runs", true, &lathe.Report{Log: []byte("alive\n")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := pgtest.Shared(t).NewDatabase(t)
			s := open(t, dsn)
			db := rawPostgres(t, dsn)
			c := withClock(s)
			a, as := runningAttempt(t, s)
			c.Advance(store.DefaultLeaseTTL + time.Second)
			id := as.AttemptID
			if tc.lock == "runs" {
				id = as.RunID
			}
			release := holdRow(t, db, tc.lock, id)

			swept := make(chan store.SweepResult, 1)
			go func() {
				res, err := s.Sweep(context.Background(), policy)
				if err != nil {
					t.Errorf("sweep: %v", err)
				}
				swept <- res
			}()
			waitLockWaiters(t, db, 1)
			var reply lathe.ReportReply
			var reportErr error
			reported := make(chan struct{})
			go func() {
				defer close(reported)
				reply, reportErr = s.Report(context.Background(), a.ID, as.AttemptID, tc.report)
			}()
			if tc.reportFirst {
				<-reported
			} else {
				waitLockWaiters(t, db, 2)
			}
			release()
			res := <-swept
			<-reported

			att, err := s.Attempt(t.Context(), as.AttemptID)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.wantFenced {
				if reportErr != nil || res.Lost != 0 || att.Status != lathe.StatusRunning {
					t.Errorf("report %v; sweep %+v; attempt %s: want the renewed attempt left running", reportErr, res, att.Status)
				}
				return
			}
			if !errorsIs(reportErr, lathe.ErrFenced) || !reply.Cancel {
				t.Errorf("report after the sweep = %+v, %v; want fenced with cancel", reply, reportErr)
			}
			if res.Lost != 1 || att.Status != lathe.StatusLost {
				t.Errorf("sweep %+v, attempt %s; want it lost", res, att.Status)
			}
			if log := readLog(t, s, as.AttemptID); strings.Contains(log, "zombie") {
				t.Errorf("log of the lost attempt = %q; the fenced report's bytes landed", log)
			}
		})
	}
}

// rawPostgres opens a connection pool of the test's own to the database.
func rawPostgres(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// holdRow locks one row of table (attempts or runs) in a transaction that
// stays open until release is called.
func holdRow(t *testing.T, db *sql.DB, table string, id int64) (release func()) {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got int64
	if err := tx.QueryRow(`SELECT id FROM `+table+` WHERE id = $1 FOR UPDATE`, id).Scan(&got); err != nil {
		tx.Rollback()
		t.Fatalf("lock %s %d: %v", table, id, err)
	}
	return func() {
		if err := tx.Rollback(); err != nil {
			t.Errorf("release %s %d: %v", table, id, err)
		}
	}
}

// waitLockWaiters waits until n sessions of the database wait for a lock.
func waitLockWaiters(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got int
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions wait for a lock after 10s; want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
