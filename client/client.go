// Package client is Lathe's one HTTP client: the CLI and the agent both talk
// to the server through it. Errors from the server come back as *Error with
// the problem's detail.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls one Lathe server with one credential.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
	// Err, when set, is what every request returns: the client could not
	// be set up as asked (an unreadable --ca-file, say).
	Err error
	// servers, set by NewServers, are the replicas requests go to instead
	// of BaseURL (then only the first one's URL, for messages).
	servers *Servers
}

// Servers are the replicas the client moves between, or nil for a client
// of one server (see NewServers).
func (c *Client) Servers() *Servers { return c.servers }

// New returns a client for the server at baseURL (http://host:port).
func New(baseURL, token string) *Client {
	return &Client{
		BaseURL: strings.TrimRight(baseURL, "/"),
		Token:   token,
		HTTP: &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
			// A request sent with "Expect: 100-continue" (an upload) waits
			// this long for the server to accept it before sending the body,
			// so a refused upload costs no transfer.
			ExpectContinueTimeout: 5 * time.Second,
		}},
	}
}

// Error is a non-2xx answer.
type Error struct {
	Status int
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Column  int    `json:"column"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	// body is the answer as sent, for callers that read more than the
	// problem from it (a fenced report's reply).
	body []byte
}

func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	return fmt.Sprintf("server said %d: %s", e.Status, msg)
}

// StatusOf returns the HTTP status of an *Error, or 0.
func StatusOf(err error) int {
	if e, ok := err.(*Error); ok {
		return e.Status
	}
	return 0
}

// Request sends a request with an optional JSON body and returns the
// response for the caller to read and close. Non-2xx answers are turned into
// *Error (and the body closed).
func (c *Client) Request(ctx context.Context, method, path string, body any, header http.Header) (*http.Response, error) {
	if body == nil {
		return c.Send(ctx, method, path, nil, 0, header)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	header = header.Clone()
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Type", "application/json")
	return c.Send(ctx, method, path, bytes.NewReader(b), int64(len(b)), header)
}

// Send is Request with a body sent as it is: size bytes from body (nil for
// none), with the caller's Content-Type in header.
func (c *Client) Send(ctx context.Context, method, path string, body io.Reader, size int64, header http.Header) (*http.Response, error) {
	if c.Err != nil {
		return nil, c.Err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return c.SendRequest(req)
}

// SendRequest sends a request the caller made (a streamed body with
// trailers, say) with the client's credential, as Send does.
func (c *Client) SendRequest(req *http.Request) (*http.Response, error) {
	if c.Err != nil {
		return nil, c.Err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	var ep *endpoint
	if c.servers != nil {
		ep = c.servers.pick(time.Now())
		req = ep.route(req, c.BaseURL)
	}
	resp, err := c.HTTP.Do(req)
	if ep != nil {
		if serverFailure(req.Context(), resp, err) {
			c.servers.failed(ep, time.Now())
		} else if err == nil {
			c.servers.answered(ep, time.Now())
		}
	}
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		e := &Error{Status: resp.StatusCode, Title: resp.Status}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		json.Unmarshal(b, e)
		e.body = b
		return nil, e
	}
	return resp, nil
}

// Do sends a JSON request and decodes a JSON answer into out (unless out is
// nil or the answer has no body).
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	return c.DoWithHeader(ctx, method, path, nil, body, out)
}

// DoWithHeader is Do with more request headers.
func (c *Client) DoWithHeader(ctx context.Context, method, path string, header http.Header, body, out any) error {
	resp, err := c.Request(ctx, method, path, body, header)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Event is one server-sent event.
type Event struct {
	Name string
	ID   string
	Data []byte
}

// Stream opens a Server-Sent Events stream and calls fn for each event until
// the stream ends, fn returns an error, or ctx is done. lastID, when set, is
// sent as Last-Event-ID.
func (c *Client) Stream(ctx context.Context, path, lastID string, fn func(Event) error) error {
	resp, err := c.OpenStream(ctx, path, lastID)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return ReadEvents(ctx, resp.Body, fn)
}

// OpenStream opens a Server-Sent Events stream as Stream does and returns
// once the server has answered, for a caller that must know the server
// follows before it goes on; it reads the events with ReadEvents and
// closes the body.
func (c *Client) OpenStream(ctx context.Context, path, lastID string) (*http.Response, error) {
	h := http.Header{"Accept": {"text/event-stream"}}
	if lastID != "" {
		h.Set("Last-Event-ID", lastID)
	}
	return c.Request(ctx, http.MethodGet, path, nil, h)
}

// ReadEvents calls fn for each Server-Sent Event in body until it ends, fn
// returns an error, or ctx (the request's) is done.
func ReadEvents(ctx context.Context, body io.Reader, fn func(Event) error) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var ev Event
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Name != "" || ev.Data != nil {
				if err := fn(ev); err != nil {
					return err
				}
			}
			ev = Event{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event:"):
			ev.Name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "id:"):
			ev.ID = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "data:"):
			if ev.Data != nil {
				ev.Data = append(ev.Data, '\n')
			}
			ev.Data = append(ev.Data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")...)
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return err
	}
	return ctx.Err()
}
