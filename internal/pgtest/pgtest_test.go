package pgtest

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestClusterGivesSeparateWorkingDatabases(t *testing.T) {
	began := time.Now()
	c := Start(t)
	t.Logf("Start took %s", time.Since(began))

	began = time.Now()
	url1 := c.NewDatabase(t)
	url2 := c.NewDatabase(t)
	t.Logf("two NewDatabase calls took %s", time.Since(began))

	if url1 == url2 {
		t.Fatalf("two databases share the URL %s", url1)
	}
	wantPrefix := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/lathe_test_", c.Port())
	for _, u := range []string{url1, url2} {
		if !strings.HasPrefix(u, wantPrefix) || !strings.HasSuffix(u, "?sslmode=disable") {
			t.Errorf("URL %q, want %sN?sslmode=disable", u, wantPrefix)
		}
	}

	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.Port()), 5*time.Second)
	if err != nil {
		t.Fatalf("server does not accept TCP connections: %v", err)
	}
	conn.Close()

	// Queries go through pgx, the driver Lathe itself uses: the check
	// cannot be skipped for want of a client program.
	if got := query(t, url1, "select 1"); got != "1" {
		t.Errorf("select 1 returned %q", got)
	}
	query(t, url1, "create table only_in_first (x int)")
	if got := query(t, url2, "select count(*) from pg_tables where tablename = 'only_in_first'"); got != "0" {
		t.Errorf("table made in the first database is visible in the second (count %s)", got)
	}
}

func TestStopStopsServerAndRemovesFiles(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	c := Start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", c.Port())

	began := time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %s", time.Since(began))

	if conn, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Stop", addr)
	}
	if _, err := os.Stat(c.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("cluster directory %s after Stop: %v, want it gone", c.dir, err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	waitForGoroutines(t, goroutines)
}

func TestSharedIsOneCluster(t *testing.T) {
	a := Shared(t)
	b := Shared(t)
	if a != b {
		t.Fatal("Shared returned two different clusters")
	}
	if a.NewDatabase(t) == b.NewDatabase(t) {
		t.Error("NewDatabase on the shared cluster repeated a URL")
	}
}

func TestFindBinDirPrefersHighestVersion(t *testing.T) {
	tests := []struct {
		a, b string
		less bool
	}{
		{"9.6", "10", true},
		{"10", "9.6", false},
		{"15", "16", true},
		{"16", "16", false},
		{"9", "9.6", true},
	}
	for _, tt := range tests {
		if got := versionLess(parseVersion(tt.a), parseVersion(tt.b)); got != tt.less {
			t.Errorf("versionLess(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.less)
		}
	}
}

// query runs sql in the database at url and returns the first column of
// its one row as text ("" for a statement with no rows).
func query(t *testing.T, url, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := stdsql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, sql)
	if err != nil {
		t.Fatalf("%q: %v", sql, err)
	}
	defer rows.Close()
	var out string
	if rows.Next() {
		if err := rows.Scan(&out); err != nil {
			t.Fatalf("%q: %v", sql, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%q: %v", sql, err)
	}
	return out
}

// waitForGoroutines fails t unless the goroutine count drops back to want
// within a second; the runtime may take a moment to retire finished ones.
func waitForGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Stop, %d before Start:\n%s",
				runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
