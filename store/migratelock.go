package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrateLock is the PostgreSQL advisory lock key held while migrations
// are applied ("lathemig" in ASCII), apart from the leader's.
const migrateLock int64 = 0x6c617468656d6967

// migrationLocker makes replicas starting at the same time apply the
// migrations one after another: each waits on a session advisory lock, and
// the ones that get it after the first find nothing left to apply. Without
// it two replicas both create the first tables and one fails to start.
// The lock is waited for, not polled, so a waiting replica starts as soon
// as the first is done; it goes with the session if that replica dies.
type migrationLocker struct{}

func (migrationLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return fmt.Errorf("wait for the migration lock: %w", err)
	}
	return nil
}

func (migrationLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", migrateLock); err != nil {
		return fmt.Errorf("release the migration lock: %w", err)
	}
	return nil
}
