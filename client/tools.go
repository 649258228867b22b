package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	lathe "github.com/lathe-ci/lathe"
)

// PublishTool sends a tool archive (a gzipped tar with lathe-tool.yml at
// its root) of size bytes and hex SHA-256 sum; admins only.
func (c *Client) PublishTool(ctx context.Context, archive io.Reader, size int64, sum string) (*lathe.Tool, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/gzip")
	h.Set(lathe.ToolSHA256Header, sum)
	resp, err := c.Send(ctx, http.MethodPost, "/api/v1/tools", archive, size, h)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var t lathe.Tool
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return nil, fmt.Errorf("publish tool: decode answer: %w", err)
	}
	return &t, nil
}

// Tools lists the published tool versions; name, when set, only its versions.
func (c *Client) Tools(ctx context.Context, name string) ([]*lathe.Tool, error) {
	path := "/api/v1/tools"
	if name != "" {
		path += "/" + url.PathEscape(name)
	}
	var out struct {
		Items []*lathe.Tool `json:"items"`
	}
	err := c.Do(ctx, http.MethodGet, path, nil, &out)
	return out.Items, err
}

// DeleteTool deletes one tool version; admins only.
func (c *Client) DeleteTool(ctx context.Context, name, version string) error {
	return c.Do(ctx, http.MethodDelete, toolPath(name, version), nil, nil)
}

// GetTool fetches the archive of a tool version for one of the agent's
// running attempts, with the SHA-256 the server recorded for it.
func (c *Client) GetTool(ctx context.Context, attemptID int64, name, version string) (body io.ReadCloser, sum string, err error) {
	resp, err := c.Request(ctx, http.MethodGet, fmt.Sprintf("/api/v1/agent/attempts/%d/tools/%s/%s", attemptID, url.PathEscape(name), url.PathEscape(version)), nil, nil)
	if err != nil {
		return nil, "", err
	}
	return resp.Body, resp.Header.Get(lathe.ToolSHA256Header), nil
}

func toolPath(name, version string) string {
	return "/api/v1/tools/" + url.PathEscape(name) + "/" + url.PathEscape(version)
}
