package store_test

import (
	"context"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/pgtest"
)

// An agent whose replica stopped answering mid-report sends the report
// again to another replica while the first one's transaction may still
// commit. The resent report, which read the attempt before that commit and
// then queued for its row, must place its bytes after what the first one
// stored: the same bytes, acknowledged once, no error and no byte twice.
func TestReportBehindAnotherReplicasReportOnPostgreSQL(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	s := open(t, dsn)
	db := rawPostgres(t, dsn)
	a, as := runningAttempt(t, s)

	// The first replica's report: it holds the attempt's row while it
	// appends "line 1\n".
	first, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	var id int64
	if err := first.QueryRow(`SELECT id FROM attempts WHERE id = $1 FOR UPDATE`, as.AttemptID).Scan(&id); err != nil {
		t.Fatal(err)
	}

	// The agent heard nothing and resends from offset 0, with a line more.
	var reply lathe.ReportReply
	var reportErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		reply, reportErr = s.Report(context.Background(), a.ID, as.AttemptID,
			&lathe.Report{LogOffset: 0, Log: []byte("line 1\nline 2\n")})
	}()
	waitLockWaiters(t, db, 1)
	if _, err := first.Exec(`INSERT INTO log_chunks (attempt_id, off, size, data) VALUES ($1, 0, 7, $2)`,
		as.AttemptID, []byte("line 1\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Exec(`UPDATE attempts SET log_size = 7 WHERE id = $1`, as.AttemptID); err != nil {
		t.Fatal(err)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	<-done
	if reportErr != nil || reply.LogSize != 14 {
		t.Fatalf("resent report = %+v, %v; want 14 bytes held and no error", reply, reportErr)
	}
	if log := readLog(t, s, as.AttemptID); log != "line 1\nline 2\n" {
		t.Fatalf("log = %q, want each line once", log)
	}
}
