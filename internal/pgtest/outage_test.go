package pgtest

import (
	"context"
	stdsql "database/sql"
	"testing"
	"time"
)

// A paused cluster refuses connections; resumed, it serves the same data at
// the same URL.
func TestPauseAndResumeKeepData(t *testing.T) {
	c := Start(t)
	url := c.NewDatabase(t)
	query(t, url, "CREATE TABLE kept (v int)")
	query(t, url, "INSERT INTO kept VALUES (42)")
	if err := c.Pause(); err != nil {
		t.Fatal(err)
	}
	db, err := stdsql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("a paused cluster answered")
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	if got := query(t, url, "SELECT v FROM kept"); got != "42" {
		t.Errorf("after resume: %q, want 42", got)
	}
}
