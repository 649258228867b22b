package dockerapi

import (
	"context"
	"io"
	"net/http"
)

// ExecConfig is a process to run in a running container.
type ExecConfig struct {
	User         string   `json:"User,omitempty"`
	Env          []string `json:"Env,omitempty"`
	WorkingDir   string   `json:"WorkingDir,omitempty"`
	Cmd          []string `json:"Cmd"`
	AttachStdout bool     `json:"AttachStdout"`
	AttachStderr bool     `json:"AttachStderr"`
}

// ExecState is an exec's state.
type ExecState struct {
	Running  bool
	ExitCode int
}

// ExecCreate sets up a process in container id and returns the exec's ID.
func (c *Client) ExecCreate(ctx context.Context, id string, cfg ExecConfig) (string, error) {
	var out struct {
		ID string `json:"Id"`
	}
	err := c.call(ctx, http.MethodPost, "/containers/"+escape(id)+"/exec", nil, cfg, &out)
	return out.ID, err
}

// ExecStart starts the exec and returns its output stream (multiplexed as
// for ContainerLogs), which ends when the process does. Closing it drops
// the connection; the process goes on.
func (c *Client) ExecStart(ctx context.Context, execID string) (io.ReadCloser, error) {
	body, err := jsonBody(map[string]bool{"Detach": false, "Tty": false})
	if err != nil {
		return nil, err
	}
	// The engine takes over the connection for the stream; asking for an
	// upgrade lets the HTTP client hand the connection back as the body.
	h := http.Header{"Content-Type": {"application/json"}, "Connection": {"Upgrade"}, "Upgrade": {"tcp"}}
	resp, err := c.request(ctx, http.MethodPost, "/exec/"+escape(execID)+"/start", nil, body, h)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ExecInspect says whether the exec's process still runs and how it ended.
func (c *Client) ExecInspect(ctx context.Context, execID string) (ExecState, error) {
	var st ExecState
	err := c.call(ctx, http.MethodGet, "/exec/"+escape(execID)+"/json", nil, nil, &st)
	return st, err
}
