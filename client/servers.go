package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lathe-ci/lathe/internal/retry"
)

// Lookup resolves a host name to its addresses (net.Resolver.LookupHost).
type Lookup func(ctx context.Context, host string) ([]string, error)

// Move is a client's requests moving from one server to another: From
// failed (at Failed) and To answered.
type Move struct {
	From, To string
	Failed   time.Time
	// After is how long after the first failure To answered.
	After time.Duration
}

// Servers are the replicas a client may call, in the order it prefers them:
// every request goes to the first that is not marked down. A request that
// fails for the server rather than for itself (refused, reset, timed out,
// 502, 503 or 504 from a proxy in front of it) marks that server down for a
// backoff that grows while it keeps failing, and the caller's next try
// goes to the next one; once the wait is over the next request tries the
// preferred server again, so a client returns to the order it was given
// as soon as its first choice answers. A host name with several addresses
// counts as one server per address, dialed directly, in the order the
// resolver gave them.
type Servers struct {
	mu  sync.Mutex
	eps []*endpoint
	// last is the endpoint that answered last; failedAt when requests
	// started failing on it.
	last     *endpoint
	failedAt time.Time
	// onMove, when set, is told each time another server answers than
	// the one that answered before (see OnMove).
	onMove func(Move)
}

// endpoint is one replica: a base URL and, for a name resolved to several
// addresses, the address to dial, with a transport of its own so no
// connection to one address is reused for another.
type endpoint struct {
	url   string // base URL
	addr  string // host:port to dial; "" dials the URL's host
	label string // for logs: the URL, with the address when pinned
	rt    *http.Transport

	downUntil time.Time
	backoff   retry.Backoff
}

// dialTimeout bounds connecting to one server, so one that does not answer
// (its host down, packets dropped) is left for the next in bounded time.
const dialTimeout = 5 * time.Second

// NewServers returns a client that calls the servers at urls (comma
// separated lists are split too) with one credential, moving between
// them as Servers says. A URL whose host name resolves (with lookup; nil is
// the system resolver) to several addresses stands for one server per
// address; one that does not resolve now is dialed by name.
func NewServers(ctx context.Context, urls []string, token string, lookup Lookup) (*Client, error) {
	list := SplitURLs(urls)
	if len(list) == 0 {
		return nil, errors.New("no server URL given")
	}
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	s := &Servers{}
	for _, raw := range list {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("server URL %q: want http://HOST[:PORT] or https://HOST[:PORT]", raw)
		}
		base := strings.TrimRight(raw, "/")
		for _, addr := range resolve(ctx, u, lookup) {
			ep := &endpoint{url: base, addr: addr, label: base,
				backoff: retry.Backoff{Base: 500 * time.Millisecond, Cap: 30 * time.Second}}
			if addr != "" {
				ep.label = base + " (" + addr + ")"
			}
			ep.rt = newTransport(addr)
			s.eps = append(s.eps, ep)
		}
	}
	c := New(s.eps[0].url, token)
	c.servers = s
	c.HTTP.Transport = s
	return c, nil
}

// SplitURLs splits each of urls at commas and drops empty parts and spaces.
func SplitURLs(urls []string) []string {
	var out []string
	for _, u := range urls {
		for _, p := range strings.Split(u, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// resolve returns the addresses to dial for u: one "" (dial the URL's
// host) unless its host is a name with several addresses.
func resolve(ctx context.Context, u *url.URL, lookup Lookup) []string {
	host, port := u.Hostname(), u.Port()
	if net.ParseIP(host) != nil {
		return []string{""}
	}
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	addrs, err := lookup(ctx, host)
	if err != nil || len(addrs) < 2 {
		return []string{""}
	}
	out := make([]string, 0, len(addrs))
	seen := map[string]bool{}
	for _, a := range addrs {
		if !seen[a] {
			seen[a] = true
			out = append(out, net.JoinHostPort(a, port))
		}
	}
	return out
}

// newTransport is New's transport, dialing addr when set.
func newTransport(addr string) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: 5 * time.Second,
		DialContext:           d.DialContext,
	}
	if addr != "" {
		t.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}
	}
	return t
}

// OnMove makes fn hear of each move to another server (fn must not block).
func (s *Servers) OnMove(fn func(Move)) {
	s.mu.Lock()
	s.onMove = fn
	s.mu.Unlock()
}

// URLs are the servers, in order, as logs name them.
func (s *Servers) URLs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.eps))
	for i, ep := range s.eps {
		out[i] = ep.label
	}
	return out
}

// pick is the endpoint the next request goes to: the first not marked
// down, or when all are, the one whose wait ends first.
func (s *Servers) pick(now time.Time) *endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	best := s.eps[0]
	for _, ep := range s.eps {
		if !now.Before(ep.downUntil) {
			return ep
		}
		if ep.downUntil.Before(best.downUntil) {
			best = ep
		}
	}
	return best
}

// failed marks ep down after a request failed for it.
func (s *Servers) failed(ep *endpoint, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep.downUntil = now.Add(ep.backoff.Next())
	if s.last == ep && s.failedAt.IsZero() {
		s.failedAt = now
	}
}

// answered records that ep answered, telling onMove when it is not the
// one that answered before.
func (s *Servers) answered(ep *endpoint, now time.Time) {
	s.mu.Lock()
	ep.downUntil = time.Time{}
	ep.backoff.Reset()
	prev, since, fn := s.last, s.failedAt, s.onMove
	s.last = ep
	if prev == ep {
		s.failedAt = time.Time{}
		s.mu.Unlock()
		return
	}
	s.failedAt = time.Time{}
	s.mu.Unlock()
	if prev != nil && fn != nil {
		m := Move{From: prev.label, To: ep.label, Failed: since}
		if !since.IsZero() {
			m.After = now.Sub(since)
		}
		fn(m)
	}
}

// setTLS makes every endpoint verify https servers with cfg.
func (s *Servers) setTLS(f func(*http.Transport)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ep := range s.eps {
		f(ep.rt)
	}
}

type endpointKey struct{}

// route returns r sent to ep: r was made for base (the client's BaseURL);
// its scheme, host and base path become ep's (the rest of the path and
// the query kept), and ep goes in its context for RoundTrip.
func (ep *endpoint) route(r *http.Request, base string) *http.Request {
	u, err := url.Parse(ep.url)
	if err != nil {
		return r // NewServers checked every URL
	}
	r = r.WithContext(context.WithValue(r.Context(), endpointKey{}, ep))
	to := *r.URL
	to.Scheme, to.Host, r.Host = u.Scheme, u.Host, ""
	if b, err := url.Parse(base); err == nil {
		// Escaped, so a name's %2F stays one path segment.
		esc := strings.TrimRight(u.EscapedPath(), "/") + strings.TrimPrefix(to.EscapedPath(), strings.TrimRight(b.EscapedPath(), "/"))
		if p, err := url.PathUnescape(esc); err == nil {
			to.Path, to.RawPath = p, esc
		}
	}
	r.URL = &to
	return r
}

// RoundTrip sends r through the transport of the endpoint Send chose (its
// URL already names that endpoint's server).
func (s *Servers) RoundTrip(r *http.Request) (*http.Response, error) {
	ep, _ := r.Context().Value(endpointKey{}).(*endpoint)
	if ep == nil {
		ep = s.eps[0]
	}
	return ep.rt.RoundTrip(r)
}

// serverFailure reports whether a request's outcome says its server is
// unreachable or gone rather than that the request itself was refused:
// worth trying another replica. That is any failure to get an answer
// (refused, reset, timed out, closed mid-answer) unless the caller
// canceled the request, and a 502, 503 or 504 that a proxy in front of
// the server gave (not a problem the server itself wrote: that server is
// up, and says why it could not do this).
func serverFailure(ctx context.Context, resp *http.Response, err error) bool {
	if err != nil {
		return !errors.Is(ctx.Err(), context.Canceled)
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json")
	}
	return false
}
