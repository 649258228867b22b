package pgtest

import (
	"os/exec"
	"testing"
)

// A paused cluster refuses connections; resumed, it serves the same data at
// the same URL.
func TestPauseAndResumeKeepData(t *testing.T) {
	c := Start(t)
	psql := findPsql(c)
	if psql == "" {
		t.Fatal("psql is needed to check the cluster and is not installed")
	}
	url := c.NewDatabase(t)
	query(t, psql, url, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
	if err := c.Pause(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(psql, url, "-X", "-tAc", "SELECT 1")
	cmd.Env = childEnv()
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("a paused cluster answered: %s", out)
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	if got := query(t, psql, url, "SELECT v FROM kept"); got != "42" {
		t.Errorf("after resume: %q, want 42", got)
	}
}
