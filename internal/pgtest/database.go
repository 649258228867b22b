package pgtest

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// createdbTimeout bounds one createdb run.
const createdbTimeout = 30 * time.Second

// NewDatabase creates a fresh, empty database in the cluster and returns its
// URL "postgres://postgres@127.0.0.1:PORT/DBNAME?sslmode=disable". Each call
// gives a new database, so tests don't see each other's data.
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("lathe_test_%d", c.dbSeq.Add(1))
	if err := c.createDatabase(name); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return c.url(name)
}

// createDatabase runs createdb, the server's own client tool, so the package
// needs no Go PostgreSQL driver.
func (c *Cluster) createDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), createdbTimeout)
	defer cancel()
	// createdb is a client; it needs no special user.
	cmd := command(ctx, nil, c.dir, filepath.Join(c.binDir, "createdb"),
		"-w", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port()), "-U", "postgres", name)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", createdbTimeout, err)
	}
	if err != nil {
		return fmt.Errorf("createdb %s: %w\n%s\n%s", name, err, out, tail(c.srv.readLog()))
	}
	return nil
}

// url is the connection URL of database name.
func (c *Cluster) url(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port(), name)
}
