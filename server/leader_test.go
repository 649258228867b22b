package server

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// While the database does not answer, a replica that tries to lead every
// retry logs the failure once, then once a minute, not at every try.
func TestLeaderLogsADownDatabaseOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close() // a database that hangs up on every connection
		}
	}()
	var mu sync.Mutex
	var logs bytes.Buffer
	l := &leader{
		dsn:   "postgres://lathe@" + ln.Addr().String() + "/lathe?sslmode=disable&connect_timeout=1",
		retry: time.Millisecond,
		log:   slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)),
	}
	stop := l.Start(context.Background(), func(context.Context) func() {
		t.Error("a replica that cannot connect led")
		return func() {}
	})
	for i := 0; i < 1000 && accepted.Load() < 20; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if n := accepted.Load(); n < 20 {
		t.Fatalf("the leader tried to connect %d times, want at least 20", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "leader: connect"); n != 1 {
		t.Errorf("the database hung up %d times and the failure was logged %d times, want once:\n%s", accepted.Load(), n, logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
