package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// replica is a test server that names itself in its answers and can play
// dead behind a proxy (503 in plain text) or answer a problem of its own.
type replica struct {
	*httptest.Server
	name    string
	mode    atomic.Int32 // 0 up, 1 proxy 503, 2 own problem 503
	lastURI atomic.Value
	host    atomic.Value
}

func newReplica(t *testing.T, name string, ln net.Listener) *replica {
	r := &replica{name: name}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.lastURI.Store(req.RequestURI)
		r.host.Store(req.Host)
		switch r.mode.Load() {
		case 1:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "<h1>503 no healthy upstream</h1>")
		case 2:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"title":"Service Unavailable","detail":"this server keeps no caches"}`)
		default:
			fmt.Fprintf(w, `{"name":%q}`, name)
		}
	})
	if ln == nil {
		r.Server = httptest.NewServer(h)
	} else {
		r.Server = &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
		r.Start()
	}
	t.Cleanup(r.Close)
	return r
}

// who asks the client which replica answers.
func who(c *Client) (string, error) {
	var out struct{ Name string }
	err := c.Do(context.Background(), http.MethodGet, "/api/v1/who", nil, &out)
	return out.Name, err
}

// untilAnswer asks until a replica answers (bounded), as the agent's loops
// do, and returns which.
func untilAnswer(t *testing.T, c *Client) string {
	t.Helper()
	for range 200 {
		if name, err := who(c); err == nil {
			return name
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no replica answered in 200 tries")
	return ""
}

func TestServersMoveOnAndComeBack(t *testing.T) {
	t.Parallel()
	a, b := newReplica(t, "a", nil), newReplica(t, "b", nil)
	c, err := NewServers(context.Background(), []string{a.URL + "," + b.URL}, "tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	var moves []Move
	c.Servers().OnMove(func(m Move) { moves = append(moves, m) })
	if got := untilAnswer(t, c); got != "a" {
		t.Fatalf("first answer from %s, want a (the first URL)", got)
	}
	// A proxy in front of a says it is gone: the request fails, the next
	// one goes to b.
	a.mode.Store(1)
	if _, err := who(c); StatusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("request while a is down: %v, want the proxy's 503", err)
	}
	if got := untilAnswer(t, c); got != "b" {
		t.Fatalf("after a failed, %s answered; want b", got)
	}
	if len(moves) != 1 || moves[0].From != a.URL || moves[0].To != b.URL || moves[0].After <= 0 {
		t.Fatalf("moves %+v, want one from a to b after a positive time", moves)
	}
	// a is back: once its wait is over the client returns to it, and stays.
	a.mode.Store(0)
	back := false
	for range 500 {
		if name, err := who(c); err == nil && name == "a" {
			back = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !back {
		t.Fatal("the client never returned to a, the first URL, after a came back")
	}
	for range 5 {
		if got, err := who(c); err != nil || got != "a" {
			t.Fatalf("after returning: %s, %v; want a", got, err)
		}
	}
}

// A 503 the server itself writes as a problem says that server is up and
// cannot do this one thing: no reason to move.
func TestServersStayOnTheirOwnProblem(t *testing.T) {
	t.Parallel()
	a, b := newReplica(t, "a", nil), newReplica(t, "b", nil)
	c, err := NewServers(context.Background(), []string{a.URL, b.URL}, "tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	a.mode.Store(2)
	for range 3 {
		if _, err := who(c); StatusOf(err) != http.StatusServiceUnavailable {
			t.Fatalf("got %v, want a's own 503", err)
		}
	}
	if b.lastURI.Load() != nil {
		t.Error("b was called; a's own problem must not move the client")
	}
}

// A refused connection (the replica's process gone) moves the client on;
// a request its caller canceled blames no server.
func TestServersRefusedAndCanceled(t *testing.T) {
	t.Parallel()
	a, b := newReplica(t, "a", nil), newReplica(t, "b", nil)
	c, err := NewServers(context.Background(), []string{a.URL, b.URL}, "tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Do(ctx, http.MethodGet, "/x", nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled request: %v", err)
	}
	if got := untilAnswer(t, c); got != "a" {
		t.Fatalf("after a canceled request %s answered; want a still", got)
	}
	a.Close()
	if got := untilAnswer(t, c); got != "b" {
		t.Fatalf("with a's listener closed %s answered; want b", got)
	}
}

// A host name with several addresses is one replica per address, dialed
// directly, with the name kept as the Host; paths keep their escapes.
func TestServersHostNameWithSeveralAddresses(t *testing.T) {
	t.Parallel()
	var ln1, ln2 net.Listener
	for range 20 {
		l1, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l1.Addr().(*net.TCPAddr).Port
		if l2, err := net.Listen("tcp", "127.0.0.2:"+strconv.Itoa(port)); err == nil {
			ln1, ln2 = l1, l2
			break
		}
		l1.Close()
	}
	if ln1 == nil {
		t.Fatal("no port free on both 127.0.0.1 and 127.0.0.2 in 20 tries")
	}
	port := strconv.Itoa(ln1.Addr().(*net.TCPAddr).Port)
	one := newReplica(t, "one", ln1)
	newReplica(t, "two", ln2)
	lookup := func(_ context.Context, host string) ([]string, error) {
		if host != "replicas.lathe.test" {
			return nil, fmt.Errorf("no such host %s", host)
		}
		return []string{"127.0.0.1", "127.0.0.2"}, nil
	}
	c, err := NewServers(context.Background(), []string{"http://replicas.lathe.test:" + port + "/"}, "tok", lookup)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Servers().URLs(); len(got) != 2 {
		t.Fatalf("servers %v, want one per address", got)
	}
	if got := untilAnswer(t, c); got != "one" {
		t.Fatalf("%s answered; want one (the first address)", got)
	}
	if h := one.host.Load(); h != "replicas.lathe.test:"+port {
		t.Errorf("Host %v, want the name", h)
	}
	if err := c.Do(context.Background(), http.MethodGet, "/api/v1/uploads/"+"a%2Fb?x=1", nil, nil); err != nil {
		t.Fatal(err)
	}
	if u := one.lastURI.Load(); u != "/api/v1/uploads/a%2Fb?x=1" {
		t.Errorf("request URI %v, want the escape kept", u)
	}
	one.Close()
	if got := untilAnswer(t, c); got != "two" {
		t.Fatalf("with the first address closed %s answered; want two", got)
	}
}

func TestNewServersRefusesBadURLs(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", " , ", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := NewServers(context.Background(), []string{in}, "", nil); err == nil {
			t.Errorf("NewServers(%q) = nil error", in)
		}
	}
}
