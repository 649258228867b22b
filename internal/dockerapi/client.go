// Package dockerapi is a client of the Docker Engine API over a Unix
// socket, as Docker's daemon and Podman's Docker-compatible service serve
// it: the few calls Lathe makes (containers, execs, networks, images) and
// the fields of them it sends and reads.
//
// It stands in for github.com/moby/moby/client, whose dependencies
// (reference parsing, OpenTelemetry) cost every start of the lathe binary
// about a tenth of its start-up CPU in package initialisation, for calls
// only the container executor and the container provider make. The wire
// format is the Engine API's, documented at
// https://docs.docker.com/reference/api/engine/.
package dockerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxVersion is the newest Engine API version this client speaks; it
// speaks the engine's own when that is older.
const MaxVersion = "1.43"

// Client talks to one engine. Its methods are safe for concurrent use.
type Client struct {
	http *http.Client
	// prefix is "/vVERSION", the version agreed with the engine.
	prefix string
}

// Version is what the engine says it is (GET /version).
type Version struct {
	Version       string
	APIVersion    string `json:"ApiVersion"`
	MinAPIVersion string `json:"MinAPIVersion"`
	Platform      struct{ Name string }
	Components    []struct{ Name, Version string }
}

// Connect reaches the engine at the Unix socket path, asks its version and
// agrees on the API version to speak (MaxVersion or the engine's own,
// whichever is older).
func Connect(ctx context.Context, path string) (*Client, Version, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	c := &Client{http: &http.Client{Transport: tr}}
	var v Version
	if err := c.call(ctx, http.MethodGet, "/version", nil, nil, &v); err != nil {
		tr.CloseIdleConnections()
		return nil, v, err
	}
	agreed := MaxVersion
	if v.APIVersion != "" && olderVersion(v.APIVersion, agreed) {
		agreed = v.APIVersion
	}
	c.prefix = "/v" + agreed
	return c, v, nil
}

// olderVersion reports whether API version a ("1.41") is older than b.
func olderVersion(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// Close ends the client's idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// Error is the engine's refusal: the HTTP status and its message.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("container engine: %d %s", e.Status, http.StatusText(e.Status))
	}
	return e.Message
}

// IsNotFound reports whether err is the engine saying that what was named
// does not exist.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is the engine refusing for the object's
// state (a container not running, a name taken).
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

func hasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// Filters select objects by key ("label") and values ("KEY=VALUE"); an
// object must match every value given for a key.
type Filters map[string][]string

// query adds f to q as the "filters" parameter.
func (f Filters) query(q url.Values) url.Values {
	if len(f) == 0 {
		return q
	}
	if q == nil {
		q = url.Values{}
	}
	b, _ := json.Marshal(map[string][]string(f))
	q.Set("filters", string(b))
	return q
}

// request sends one request under the agreed version (path unversioned
// when the version is not yet agreed) and returns the response when its
// status is 2xx or 101, else the engine's Error. The caller closes the body.
func (c *Client) request(ctx context.Context, method, path string, q url.Values, body io.Reader, header http.Header) (*http.Response, error) {
	u := "http://engine" + c.prefix + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode}
	var m struct{ Message string }
	if json.Unmarshal(b, &m) == nil && m.Message != "" {
		e.Message = m.Message
	} else {
		e.Message = strings.TrimSpace(string(b))
	}
	return nil, e
}

// call sends in (JSON, when not nil) and decodes the answer into out (when
// not nil).
func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	var header http.Header
	if in != nil {
		var err error
		if body, err = jsonBody(in); err != nil {
			return err
		}
		header = http.Header{"Content-Type": {"application/json"}}
	}
	resp, err := c.request(ctx, method, path, q, body, header)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// jsonBody is v as a JSON request body.
func jsonBody(v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

// progress reads a stream of JSON progress messages (a pull, an import) to
// its end, returning the first error one of them reports.
func progress(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		switch {
		case m.ErrorDetail.Message != "":
			return errors.New(m.ErrorDetail.Message)
		case m.Error != "":
			return errors.New(m.Error)
		}
	}
}

// escape escapes an object's ID or name for a path.
func escape(id string) string { return url.PathEscape(id) }
