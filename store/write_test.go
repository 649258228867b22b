package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/pgtest"
)

// A write whose result the transaction does not read (txn.write) may be
// sent late on PostgreSQL, with the next statement or with COMMIT: these
// check that it still belongs to its transaction on both engines.
func TestWriteBelongsToItsTransaction(t *testing.T) {
	onWriteEngines(t, func(t *testing.T, s *Store, count func(actor string) int) {
		ctx := t.Context()
		// The transaction's next statement sees the write.
		var seen int
		err := s.tx(ctx, func(x *txn) error {
			if err := x.write(ctx, insert, 1, "seen", "test", "{}"); err != nil {
				return err
			}
			return x.queryRow(ctx, `SELECT count(*) FROM audit_events WHERE actor = ?`, "seen").Scan(&seen)
		})
		if err != nil || seen != 1 {
			t.Fatalf("a write then a read in one transaction: read %d rows (want 1), err %v", seen, err)
		}

		// A write last in its transaction is committed with it.
		if err := s.tx(ctx, func(x *txn) error { return x.write(ctx, insert, 2, "last", "test", "{}") }); err != nil {
			t.Fatal(err)
		}
		if n := count("last"); n != 1 {
			t.Fatalf("a transaction's last write: %d rows stored, want 1", n)
		}

		// A write that fails fails its transaction, whichever statement
		// it was sent with, and nothing of the transaction is kept.
		for _, then := range nextStatements(ctx, 3, "failed") {
			err := s.tx(ctx, func(x *txn) error {
				if _, err := x.exec(ctx, insert, 3, "failed", "test", "{}"); err != nil {
					return err
				}
				if err := x.write(ctx, insert, 3, nil, "test", "{}"); err != nil { // actor is NOT NULL
					return err
				}
				return then.fn(x)
			})
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), "null") {
				t.Errorf("%s: a write breaking NOT NULL: err %v, want the constraint's error", then.name, err)
			}
			if n := count("failed"); n != 0 {
				t.Errorf("%s: the failed transaction kept %d rows", then.name, n)
			}
		}

		// The next transaction, on the connection that carried the
		// failed one, stores what it writes.
		if err := s.tx(ctx, func(x *txn) error { return x.write(ctx, insert, 4, "after", "test", "{}") }); err != nil {
			t.Fatalf("a transaction after a failed one: %v", err)
		}
		if n := count("after"); n != 1 {
			t.Fatalf("after a failed transaction: %d rows stored, want 1", n)
		}
		// A transaction that ran nothing commits nothing, without error.
		if err := s.tx(ctx, func(*txn) error { return nil }); err != nil {
			t.Fatalf("an empty transaction: %v", err)
		}
	})
}

// A write that must change rows (txn.writeAffecting, as setStatusLater
// sends) and changes fewer fails its transaction with errStale, whichever
// statement it is sent with, COMMIT included, and nothing of the
// transaction is kept.
func TestWriteAffectingFewerRowsFailsItsTransaction(t *testing.T) {
	onWriteEngines(t, func(t *testing.T, s *Store, count func(actor string) int) {
		ctx := t.Context()
		for _, then := range nextStatements(ctx, 5, "stale") {
			err := s.tx(ctx, func(x *txn) error {
				if err := x.write(ctx, insert, 5, "stale", "test", "{}"); err != nil {
					return err
				}
				if err := x.writeAffecting(ctx, 1, "the nobody update", `UPDATE audit_events SET action = ? WHERE actor = ?`, "x", "nobody"); err != nil {
					return err
				}
				return then.fn(x)
			})
			if !stale(err) || !strings.Contains(err.Error(), "the nobody update") {
				t.Errorf("%s: an update of no row that must change one: err %v, want errStale naming it", then.name, err)
			}
			if n := count("stale"); n != 0 {
				t.Errorf("%s: the failed transaction kept %d rows", then.name, n)
			}
		}
		// The same write changing its row passes, and its transaction commits.
		err := s.tx(ctx, func(x *txn) error {
			if err := x.write(ctx, insert, 6, "kept", "test", "{}"); err != nil {
				return err
			}
			return x.writeAffecting(ctx, 1, "the kept update", `UPDATE audit_events SET action = ? WHERE actor = ?`, "y", "kept")
		})
		if err != nil || count("kept") != 1 {
			t.Fatalf("an update of the row it must change: err %v, %d rows kept (want 1)", err, count("kept"))
		}
	})
}

// A read sent late (txn.readLater) whose row is missing fails its
// transaction even when COMMIT is the next statement, and nothing of the
// transaction is kept.
func TestReadLaterFailingFailsItsTransaction(t *testing.T) {
	onWriteEngines(t, func(t *testing.T, s *Store, count func(actor string) int) {
		ctx := t.Context()
		err := s.tx(ctx, func(x *txn) error {
			if err := x.write(ctx, insert, 7, "unread", "test", "{}"); err != nil {
				return err
			}
			return x.readLater(ctx, func(r row) error {
				var actor string
				return notFound(r.Scan(&actor), "actor", "nobody")
			}, `SELECT actor FROM audit_events WHERE actor = ?`, "nobody")
		})
		if !errors.Is(err, lathe.ErrNotFound) {
			t.Errorf("a late read of no row, then COMMIT: err %v, want not found", err)
		}
		if n := count("unread"); n != 0 {
			t.Errorf("the failed transaction kept %d rows", n)
		}
	})
}

const insert = `INSERT INTO audit_events (at, actor, action, details) VALUES (?, ?, ?, ?)`

// nextStatement is what a transaction sends after the write under test,
// which a late write or check rides with: COMMIT alone, a read, or
// another write (an audit event by actor at at).
type nextStatement struct {
	name string
	fn   func(x *txn) error
}

func nextStatements(ctx context.Context, at int, actor string) []nextStatement {
	return []nextStatement{
		{"then commit", func(*txn) error { return nil }},
		{"then a read", func(x *txn) error {
			var n int
			return x.queryRow(ctx, `SELECT count(*) FROM audit_events`).Scan(&n)
		}},
		{"then a write", func(x *txn) error { return x.write(ctx, insert, at, actor, "test", "{}") }},
	}
}

// onWriteEngines runs fn on a fresh store of each engine, limited to one
// PostgreSQL connection (the transaction after a failed one gets the
// connection that carried it), with count, the audit events by an actor.
func onWriteEngines(t *testing.T, fn func(t *testing.T, s *Store, count func(actor string) int)) {
	engines := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "lathe.db") },
		"postgres": func(t *testing.T) string { return pgtest.Shared(t).NewDatabase(t) },
	}
	for name, dsn := range engines {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			s, err := Open(ctx, dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			s.SetPostgresConns(1)
			fn(t, s, func(actor string) int {
				t.Helper()
				var n int
				if err := s.queryRow(ctx, `SELECT count(*) FROM audit_events WHERE actor = ?`, actor).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			})
		})
	}
}
