package store_test

import (
	"net/url"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/store"
)

// A replica that hangs in the middle of a transaction holding a run's lock
// (its host frozen, or cut off from the database) would hold up every
// claimer of that run's jobs on every other replica for as long as the hang
// lasts: found by freezing a replica with SIGSTOP in the kill-replica
// scenario, where no run ended for the 40 s the leader was stopped.
// PostgreSQL ends such a session after idle_in_transaction_session_timeout
// (store.IdleTxTimeout unless the URL says otherwise), and the other
// replica's claim goes through while the first still hangs.
func TestHungReplicaDoesNotHoldUpClaims(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	a, b := open(t, dsn), open(t, dsn)
	if v, err := store.IdleTxSetting(a); err != nil || v != "20s" {
		t.Fatalf("sessions' idle_in_transaction_session_timeout = %q, %v; want 20s (store.IdleTxTimeout)", v, err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("idle_in_transaction_session_timeout", "500")
	u.RawQuery = q.Encode()
	if v, err := store.IdleTxSetting(open(t, u.String())); err != nil || v != "500ms" {
		t.Fatalf("with the URL's own setting: %q, %v; want 500ms", v, err)
	}
	p := mustProject(t, b, "web")
	agent := mustAgent(t, b, "a1")
	r := mustRun(t, b, p.ID, "ci", []string{"build"}, job("compile", "build"))

	locked, release := make(chan struct{}), make(chan struct{})
	hung := make(chan error, 1)
	go func() { hung <- store.HangHoldingRun(a, r.ID, locked, release) }()
	defer func() {
		close(release)
		if err := <-hung; err == nil {
			t.Error("the hung transaction committed after its session should have been ended")
		}
	}()
	<-locked

	claimed := make(chan *lathe.Assignment, 1)
	go func() {
		as, err := b.Claim(t.Context(), agent.ID, agent.Labels)
		if err != nil {
			t.Errorf("claim: %v", err)
		}
		claimed <- as
	}()
	select {
	case as := <-claimed:
		if as == nil || as.RunID != r.ID {
			t.Fatalf("claim = %+v, want the job of run %d", as, r.ID)
		}
	case <-time.After(store.IdleTxTimeout + 30*time.Second):
		t.Fatalf("the claim still waits for the hung replica's lock after %s", store.IdleTxTimeout+30*time.Second)
	}
}
