package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// loginFrom posts a login as if through a proxy for client xff ("": no
// X-Forwarded-For) and returns the answer's status and Retry-After.
func loginFrom(t *testing.T, url, xff, user, password string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	req, _ := http.NewRequest("POST", url+"/api/v1/sessions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("login %s from %s: %v", user, xff, err)
		return 0, ""
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// A client that sent many invalid tokens is refused further guesses, but
// never a valid credential: a NAT or proxy shares one address among many.
func TestBadTokenLimiterNeverRefusesValidCredentials(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	limited := false
	for i := 0; i < 40 && !limited; i++ {
		limited = statusOf(t, l, fmt.Sprintf("lathe_bogus_%d", i), "GET", "/api/v1/users/me", nil) == 429
	}
	if !limited {
		t.Fatal("40 invalid tokens from one address were never refused with 429")
	}
	if got := statusOf(t, l, l.AdminToken, "GET", "/api/v1/users/me", nil); got != 200 {
		t.Errorf("valid token from an address over its invalid-token limit: %d, want 200", got)
	}
}

// Behind a trusted proxy (--trusted-proxy), X-Forwarded-For names the
// client the login limit counts; from anyone else the header is ignored,
// so it cannot be used to escape the limit.
func TestTrustedProxyMakesXForwardedForCount(t *testing.T) {
	exhaust := func(l *lathetest.Lathe, xff func(i int) string) int {
		for i := 0; i < 30; i++ {
			if code, _ := loginFrom(t, l.URL, xff(i), "nobody", "wrong-password"); code == 429 {
				return i
			}
		}
		return -1
	}
	same := func(int) string { return "203.0.113.7" }
	spoofed := func(i int) string { return fmt.Sprintf("198.51.100.%d", i) }

	direct := lathetest.Start(t, lathetest.Options{Agents: -1})
	if n := exhaust(direct, spoofed); n < 0 {
		t.Error("without a trusted proxy, a new X-Forwarded-For per login escaped the login limit")
	}

	proxied := lathetest.Start(t, lathetest.Options{Agents: -1,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if n := exhaust(proxied, same); n < 0 {
		t.Fatal("one forwarded client was never limited")
	}
	if code, _ := loginFrom(t, proxied.URL, "203.0.113.8", "nobody", "wrong-password"); code != 401 {
		t.Errorf("another forwarded client after the first hit its limit: %d, want 401", code)
	}
	// A client cannot pick its bucket by sending its own X-Forwarded-For:
	// the proxy appends the address it saw, which is what counts.
	if code, _ := loginFrom(t, proxied.URL, "10.9.9.9, 203.0.113.7", "nobody", "wrong-password"); code != 429 {
		t.Errorf("limited client prepending a forged address: %d, want 429", code)
	}
}

// Every kind of account costs a login the same hashing work, so how long
// the answer takes says nothing about the account: a missing user, a
// disabled one, a service account and the built-in admin (no password)
// take as long as a wrong password. Each kind's fastest of several tries
// is compared, which load on the machine only slows, never speeds up.
func TestLoginTakesAsLongForEveryKindOfAccount(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "ann", "password": "ann-password"}, nil)
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "gone", "password": "gone-password"}, nil)
	l.Do(t, "DELETE", "/api/v1/users/gone", nil, nil)
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "robot", "service": true}, nil)

	// The kinds take turns, round after round, so a burst of load on the
	// machine slows them alike; each kind's fastest try is kept.
	users := []string{"ann", "nobody", "gone", "robot", "admin"}
	best := map[string]time.Duration{}
	for round := range 7 {
		for i, user := range users {
			start := time.Now()
			code, _ := loginFrom(t, l.URL, fmt.Sprintf("192.0.2.%d", round*len(users)+i+1), user, "wrong-password")
			if d := time.Since(start); best[user] == 0 || d < best[user] {
				best[user] = d
			}
			if code != 401 {
				t.Errorf("login %s with a wrong password: %d, want 401", user, code)
			}
		}
	}
	wrong := best["ann"]
	for _, user := range users[1:] {
		if got := best[user]; got < wrong/2 {
			t.Errorf("login as %s: %v, but a wrong password takes %v: the timing tells the account apart", user, got, wrong)
		}
	}
}

// peakRSS is the most resident memory the process has used (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// 300 logins at once keep `lathe server` under 200 MB: password hashing
// (argon2id, 19 MiB each) runs a few at a time, and logins it cannot take
// within a short wait get 429 with Retry-After. Each login comes through
// the trusted proxy from its own address, so the per-client login limit
// does not stop them before they reach the hashing.
func TestParallelLoginsKeepServerMemoryBounded(t *testing.T) {
	bin := lathetest.Binary(t)
	p, l := serverProcess(t, bin, lathetest.FreeAddr(t), t.TempDir(), "", "--trusted-proxy", "127.0.0.1")
	l.Do(t, "POST", "/api/v1/users", map[string]any{"name": "ann", "password": "ann-password"}, nil)
	url := l.Client.BaseURL

	const logins = 300
	codes, retry := make([]int, logins), make([]string, logins)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i], retry[i] = loginFrom(t, url, fmt.Sprintf("10.1.%d.%d", i/256, i%256), "ann", "ann-password")
		}()
	}
	close(start)
	wg.Wait()
	ok, busy := 0, 0
	for i, c := range codes {
		switch {
		case c == 201:
			ok++
		case c == 429 && retry[i] != "":
			busy++
		default:
			t.Errorf("login %d: %d (Retry-After %q), want 201, or 429 with Retry-After", i, c, retry[i])
		}
	}
	rss := peakRSS(t, p.Cmd.Process.Pid)
	t.Logf("%d logins: %d succeeded, %d got 429; server peak RSS %d MiB", logins, ok, busy, rss>>20)
	if ok == 0 {
		t.Error("no login succeeded")
	}
	if rss > 200<<20 {
		t.Errorf("server peak RSS %d MiB during %d parallel logins, want under 200 MiB", rss>>20, logins)
	}
}
