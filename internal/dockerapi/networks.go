package dockerapi

import (
	"context"
	"net/http"
)

// CreateNetwork is the body of a network's creation.
type CreateNetwork struct {
	Name   string `json:"Name"`
	Driver string `json:"Driver,omitempty"`
	// Internal cuts the network off from the outside.
	Internal bool              `json:"Internal,omitempty"`
	Labels   map[string]string `json:"Labels,omitempty"`
}

// Network is a network as the list gives it.
type Network struct {
	ID       string `json:"Id"`
	Name     string
	Internal bool
}

// NetworkCreate creates a network and returns its ID.
func (c *Client) NetworkCreate(ctx context.Context, n CreateNetwork) (string, error) {
	var out struct {
		ID string `json:"Id"`
	}
	err := c.call(ctx, http.MethodPost, "/networks/create", nil, n, &out)
	return out.ID, err
}

// NetworkList lists the networks that match f.
func (c *Client) NetworkList(ctx context.Context, f Filters) ([]Network, error) {
	var out []Network
	err := c.call(ctx, http.MethodGet, "/networks", f.query(nil), nil, &out)
	return out, err
}

// NetworkRemove removes a network.
func (c *Client) NetworkRemove(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/networks/"+escape(id), nil, nil, nil)
}
