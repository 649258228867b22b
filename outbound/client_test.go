package outbound_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/internal/retry"
	"github.com/lathe-ci/lathe/outbound"
)

// counting is a server on 127.0.0.1 that answers code and counts requests.
func counting(t *testing.T, code int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func allow(t *testing.T, list string) outbound.Allow {
	t.Helper()
	a, err := outbound.ParseAllow(list)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func post(c *outbound.Client, url string) (*outbound.Response, error) {
	return c.Do(context.Background(), outbound.Request{Method: http.MethodPost, URL: url, Body: []byte(`{}`)})
}

// Without an allow-list a server on 127.0.0.1 is never reached: the
// connection is refused before it is made, with an error saying why and
// what to do, and the refusal is not tried again.
func TestLoopbackRefusedWithoutAllowList(t *testing.T) {
	t.Parallel()
	srv, n := counting(t, http.StatusOK)
	c := outbound.New(outbound.Options{})
	_, err := post(c, srv.URL)
	if !outbound.Refused(err) {
		t.Fatalf("err = %v; want a refusal", err)
	}
	if want := "destination 127.0.0.1 is a loopback address; allow it with --outbound-allow"; err.Error() != want {
		t.Errorf("err = %q; want %q", err, want)
	}
	if n.Load() != 0 {
		t.Errorf("the server got %d requests; want none", n.Load())
	}
	// A host name is judged by what it resolves to.
	_, err = post(c, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	if !outbound.Refused(err) {
		t.Errorf("localhost: err = %v; want a refusal", err)
	}
}

// With 127.0.0.1 allowed (by CIDR, or its host name), the same server answers.
func TestAllowListLetsThrough(t *testing.T) {
	t.Parallel()
	srv, n := counting(t, http.StatusCreated)
	for _, list := range []string{"127.0.0.1/32", "127.0.0.1", "10.0.0.0/8, 127.0.0.0/8"} {
		resp, err := post(outbound.New(outbound.Options{Allow: allow(t, list)}), srv.URL)
		if err != nil || resp.Code != http.StatusCreated {
			t.Errorf("allow %q: %v, %v; want 201", list, resp, err)
		}
	}
	resp, err := post(outbound.New(outbound.Options{Allow: allow(t, "localhost")}), strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	if err != nil || resp.Code != http.StatusCreated {
		t.Errorf("allow localhost: %v, %v; want 201", resp, err)
	}
	if n.Load() != 4 {
		t.Errorf("requests = %d; want 4", n.Load())
	}
}

// A redirect to a refused address is refused: the check is on every
// connection, not on the first URL.
func TestRedirectToRefusedAddressRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 here: %v", err)
	}
	var inner atomic.Int32
	target := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.Add(1)
	})}}
	target.Start()
	t.Cleanup(target.Close)
	front := httptest.NewServer(http.RedirectHandler(target.URL+"/elsewhere", http.StatusTemporaryRedirect))
	t.Cleanup(front.Close)

	c := outbound.New(outbound.Options{Allow: allow(t, "127.0.0.1/32")})
	_, err = post(c, front.URL)
	if !outbound.Refused(err) || !strings.Contains(err.Error(), "127.0.0.2 is a loopback address") {
		t.Fatalf("err = %v; want the redirect's 127.0.0.2 refused", err)
	}
	if inner.Load() != 0 {
		t.Errorf("the redirect's target got %d requests; want none", inner.Load())
	}
	// Allowed, the redirect is followed.
	resp, err := post(outbound.New(outbound.Options{Allow: allow(t, "127.0.0.0/8")}), front.URL)
	if err != nil || resp.Code != http.StatusOK || inner.Load() != 1 {
		t.Errorf("allowed redirect: %v, %v, target requests %d", resp, err, inner.Load())
	}
}

// Redirects are bounded.
func TestRedirectsBounded(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Redirect(w, r, srv.URL+"/again", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	c := outbound.New(outbound.Options{Allow: allow(t, "127.0.0.1"), MaxRedirects: 2, Tries: 1})
	_, err := post(c, srv.URL)
	if err == nil || !strings.Contains(err.Error(), "stopped after 2 redirects") {
		t.Errorf("err = %v; want stopped after 2 redirects", err)
	}
	if n.Load() != 3 {
		t.Errorf("requests = %d; want 3 (the first and 2 redirects)", n.Load())
	}
}

// A 503 is tried again, a bounded number of times; a 500 is an answer.
func TestRetriesBounded(t *testing.T) {
	t.Parallel()
	fast := retry.Backoff{Base: time.Millisecond, Cap: 5 * time.Millisecond}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	c := outbound.New(outbound.Options{Allow: allow(t, "127.0.0.1"), Tries: 3, Backoff: fast})
	if resp, err := post(c, srv.URL); err != nil || resp.Code != http.StatusOK || n.Load() != 3 {
		t.Errorf("got %v, %v after %d requests; want 200 after 3", resp, err, n.Load())
	}
	always, m := counting(t, http.StatusServiceUnavailable)
	if resp, err := post(c, always.URL); err != nil || resp.Code != http.StatusServiceUnavailable || m.Load() != 3 {
		t.Errorf("always 503: %v, %v after %d requests; want the 503 after 3", resp, err, m.Load())
	}
	five, k := counting(t, http.StatusInternalServerError)
	if resp, err := post(c, five.URL); err != nil || resp.Code != 500 || k.Load() != 1 {
		t.Errorf("500: %v, %v after %d requests; want the 500 after 1", resp, err, k.Load())
	}
	// Nothing listening: connection refused, tried 3 times, then the error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := post(c, "http://"+addr); err == nil || outbound.Refused(err) {
		t.Errorf("closed port: err = %v; want a connection error", err)
	}
}

// The address classes refused by default.
func TestClassify(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"10.1.2.3": "private", "172.16.0.1": "private", "192.168.1.1": "private", "127.0.0.1": "loopback",
		"169.254.169.254": "link-local", "0.0.0.0": "unspecified", "224.0.0.1": "multicast", "100.64.0.1": "shared (carrier-grade NAT)",
		"::1": "loopback", "fd00::1": "private (unique local)", "fe80::1": "link-local", "::": "unspecified", "ff02::1": "multicast",
		"::ffff:10.0.0.1": "private", "64:ff9b::a00:1": "private", "255.255.255.255": "reserved",
		"8.8.8.8": "", "140.82.112.3": "", "2606:4700:4700::1111": "",
	} {
		if got := outbound.Classify(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Classify(%s) = %q; want %q", addr, got, want)
		}
	}
}

func TestParseAllow(t *testing.T) {
	t.Parallel()
	a, err := outbound.ParseAllow("127.0.0.1/32, 10.0.0.0/8,::1,forge.internal")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.String(); got != "127.0.0.1/32,10.0.0.0/8,::1/128,forge.internal" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "http://x", "a b"} {
		if _, err := outbound.ParseAllow(bad); err == nil || !strings.Contains(err.Error(), "--outbound-allow") {
			t.Errorf("ParseAllow(%q) = %v; want an error naming the flag", bad, err)
		}
	}
}
