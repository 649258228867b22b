package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/lathe-ci/lathe/internal/retry"
)

// Defaults of Options.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultTimeout        = 15 * time.Second
	DefaultMaxRedirects   = 3
	DefaultTries          = 3
)

// maxBody bounds the part of an answer's body the client keeps.
const maxBody = 16 << 10

// Options tune a Client; the zero value takes the defaults.
type Options struct {
	Allow Allow
	// ConnectTimeout bounds a connection's setup (TCP and TLS); Timeout a
	// whole try, from dialing to the answer's body read.
	ConnectTimeout, Timeout time.Duration
	// MaxRedirects bounds the redirects one try follows.
	MaxRedirects int
	// Tries bounds the tries of one Do: a try that fails to connect, or
	// answers 429, 502, 503 or 504, is tried again after a jittered wait
	// (Backoff; zero: 250 ms growing to 2 s).
	Tries   int
	Backoff retry.Backoff
	// UserAgent is sent with every request (zero: "Lathe").
	UserAgent string
}

// Client sends requests to other servers, refusing the destinations its
// allow-list does not permit. It is safe for concurrent use.
type Client struct {
	http  *http.Client
	opts  Options
	allow Allow
}

// New returns a client.
func New(o Options) *Client {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.Tries <= 0 {
		o.Tries = DefaultTries
	}
	if o.Backoff.Base <= 0 {
		o.Backoff = retry.Backoff{Base: 250 * time.Millisecond, Cap: 2 * time.Second}
	}
	if o.UserAgent == "" {
		o.UserAgent = "Lathe"
	}
	c := &Client{opts: o, allow: o.Allow}
	checked := &net.Dialer{Timeout: o.ConnectTimeout, ControlContext: c.control}
	open := &net.Dialer{Timeout: o.ConnectTimeout}
	tr := &http.Transport{
		// No proxy: the address checked must be the one reached.
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err == nil && c.allow.host(host) {
				return open.DialContext(ctx, network, addr)
			}
			return checked.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   o.ConnectTimeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	c.http = &http.Client{Transport: tr, Timeout: o.Timeout, CheckRedirect: c.redirect}
	return c
}

// control runs on every connection, with the address being dialed
// (resolved): it refuses what the allow-list does not permit.
// HTTP is the client's *http.Client, for callers that speak to a forge
// through a library taking one: the same address checks, redirect bound
// and per-try timeout, without Do's retries.
func (c *Client) HTTP() *http.Client { return c.http }

func (c *Client) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("destination %q: %w", address, err)
	}
	return c.allow.check(ap.Addr())
}

// redirect bounds redirects, refuses other schemes, and keeps credentials
// from another host (Go drops Authorization there itself; GitLab's
// PRIVATE-TOKEN is dropped here).
func (c *Client) redirect(req *http.Request, via []*http.Request) error {
	if len(via) > c.opts.MaxRedirects {
		return fmt.Errorf("stopped after %d redirects", c.opts.MaxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to %s: only http and https are followed", req.URL.Scheme)
	}
	if req.URL.Host != via[0].URL.Host {
		req.Header.Del("Private-Token")
		req.Header.Del("Authorization")
	}
	return nil
}

// Request is one request to send; its body is bytes so that it can be sent again.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// Response is what the server answered: its status code and the start of its body.
type Response struct {
	Code int
	Body []byte
}

// retryable status codes: the server (or its proxy) says try again later.
func retryableCode(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// errRetryCode marks a try that got a retryable code.
var errRetryCode = errors.New("retryable status")

// Do sends r, trying again (at most Options.Tries times in all) after a
// connection failure or a 429/502/503/504. It returns the last answer, or
// the error of the last try when none came; a refused destination is never
// tried again (see Refused).
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q: want an absolute http or https URL", r.URL)
	}
	var last *Response
	backoff := c.opts.Backoff
	err = retry.Do(ctx, retry.Policy{Backoff: backoff, Tries: c.opts.Tries,
		Retryable: func(err error) bool { return !Refused(err) && ctx.Err() == nil }},
		func() error {
			resp, err := c.try(ctx, r)
			if err != nil {
				return err
			}
			last = resp
			if retryableCode(resp.Code) {
				return errRetryCode
			}
			return nil
		})
	if last != nil && (err == nil || errors.Is(err, errRetryCode)) {
		return last, nil
	}
	return nil, err
}

func (c *Client) try(ctx context.Context, r Request) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	for k, v := range r.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, unwrapURL(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", r.Method, r.URL, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	return &Response{Code: resp.StatusCode, Body: body}, nil
}

// unwrapURL keeps a refusal visible as itself rather than inside url.Error's
// and net.OpError's wording.
func unwrapURL(err error) error {
	var refused *RefusedError
	if errors.As(err, &refused) {
		return refused
	}
	return err
}

// Refused reports whether err is a destination the allow-list refuses.
func Refused(err error) bool {
	var refused *RefusedError
	return errors.As(err, &refused)
}
