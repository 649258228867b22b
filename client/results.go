package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
)

// PutArtifact sends one artifact file of size bytes, whose hex SHA-256 is
// sum, as the file at path p of the attempt's job. expireIn (seconds, 0
// for the branch's policy) is how long it is kept. body is read once.
//
// The SHA-256 goes in a header, never a trailer: a load balancer in front
// of the server's replicas may drop a request's trailers (Go's
// httputil.ReverseProxy does), and every upload through it would then
// look damaged.
func (c *Client) PutArtifact(ctx context.Context, attemptID int64, p string, body io.Reader, size int64, sum string, expireIn int64) (*lathe.Artifact, error) {
	q := url.Values{"path": {p}}
	if expireIn > 0 {
		q.Set("expire_in", strconv.FormatInt(expireIn, 10))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut,
		fmt.Sprintf("%s/api/v1/agent/attempts/%d/artifacts?%s", c.BaseURL, attemptID, q.Encode()), nil)
	if err != nil {
		return nil, err
	}
	req.Body = largeWrites{body}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(lathe.ArtifactSHA256Header, sum)
	// The server refuses an artifact it will not keep before the body is sent.
	req.Header.Set("Expect", "100-continue")
	resp, err := c.SendRequest(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var a lathe.Artifact
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return nil, fmt.Errorf("artifact %s: decode answer: %w", p, err)
	}
	return &a, nil
}

// largeWrites is a request body sent in 1 MiB writes (io.Copy, which the
// transport uses, prefers WriteTo to Read): big chunks, a tenth of the
// system calls on both ends of a large artifact.
type largeWrites struct{ r io.Reader }

func (b largeWrites) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b largeWrites) Close() error               { return nil }

func (b largeWrites) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, 1<<20)
	var total int64
	for {
		n, err := io.ReadFull(b.r, buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

// RestoredCache is a cache archive the server found for a restore.
type RestoredCache struct {
	// Key is the key it was saved under (the exact key or one a restore
	// prefix matched).
	Key    string
	Size   int64
	SHA256 string
	Body   io.ReadCloser
}

// RestoreCache opens the newest cache of the attempt's project and scope
// whose key is key, or else starts with one of prefixes in order; an
// *Error of status 404 when none matches. The caller closes Body.
func (c *Client) RestoreCache(ctx context.Context, attemptID int64, key string, prefixes []string) (*RestoredCache, error) {
	q := url.Values{"key": {key}}
	for _, p := range prefixes {
		q.Add("restore_key", p)
	}
	resp, err := c.Request(ctx, http.MethodGet, fmt.Sprintf("/api/v1/agent/attempts/%d/cache?%s", attemptID, q.Encode()), nil, nil)
	if err != nil {
		return nil, err
	}
	return &RestoredCache{Key: resp.Header.Get(lathe.CacheKeyHeader), Size: resp.ContentLength,
		SHA256: resp.Header.Get(lathe.CacheSHA256Header), Body: resp.Body}, nil
}

// SaveCache sends a cache archive of size bytes, whose hex SHA-256 is sum,
// as the cache key of the attempt's project and scope; an *Error of status
// 409 when the key is saved already.
func (c *Client) SaveCache(ctx context.Context, attemptID int64, key string, body io.Reader, size int64, sum string) (*lathe.Cache, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/gzip")
	h.Set(lathe.CacheSHA256Header, sum)
	h.Set("Expect", "100-continue")
	resp, err := c.Send(ctx, http.MethodPut, fmt.Sprintf("/api/v1/agent/attempts/%d/cache?%s", attemptID, url.Values{"key": {key}}.Encode()), body, size, h)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out lathe.Cache
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("cache %s: decode answer: %w", key, err)
	}
	return &out, nil
}

// RunArtifacts lists a run's artifacts (job, when set, keeps one job's).
func (c *Client) RunArtifacts(ctx context.Context, runID int64, job string) ([]*lathe.Artifact, error) {
	path := fmt.Sprintf("/api/v1/runs/%d/artifacts", runID)
	if job != "" {
		path += "?" + url.Values{"job": {job}}.Encode()
	}
	var out struct {
		Items []*lathe.Artifact `json:"items"`
	}
	if err := c.Do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// ArtifactContent opens an artifact's content; the caller closes it.
func (c *Client) ArtifactContent(ctx context.Context, id int64) (io.ReadCloser, error) {
	resp, err := c.Request(ctx, http.MethodGet, fmt.Sprintf("/api/v1/artifacts/%d/content", id), nil, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
