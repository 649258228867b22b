package dockerapi

import (
	"context"
	"io"
	"net/http"
	"net/url"
)

// Config is what a container runs (the create body's own fields).
type Config struct {
	Image      string            `json:"Image"`
	Hostname   string            `json:"Hostname,omitempty"`
	User       string            `json:"User,omitempty"`
	WorkingDir string            `json:"WorkingDir,omitempty"`
	Env        []string          `json:"Env,omitempty"`
	Entrypoint []string          `json:"Entrypoint,omitempty"`
	Cmd        []string          `json:"Cmd,omitempty"`
	Labels     map[string]string `json:"Labels,omitempty"`
}

// HostConfig is how the engine runs a container.
type HostConfig struct {
	Binds       []string `json:"Binds,omitempty"`
	NetworkMode string   `json:"NetworkMode,omitempty"`
	CapDrop     []string `json:"CapDrop,omitempty"`
	SecurityOpt []string `json:"SecurityOpt,omitempty"`
	// NanoCPUs limits CPU time, in billionths of a CPU.
	NanoCPUs int64 `json:"NanoCpus,omitempty"`
	// Memory limits memory, in bytes.
	Memory int64 `json:"Memory,omitempty"`
	// Init runs an init process as the container's PID 1.
	Init *bool `json:"Init,omitempty"`
}

// NetworkingConfig joins a container to networks as it is created.
type NetworkingConfig struct {
	EndpointsConfig map[string]*EndpointSettings `json:"EndpointsConfig,omitempty"`
}

// EndpointSettings are a container's place on one network.
type EndpointSettings struct {
	Aliases   []string `json:"Aliases,omitempty"`
	IPAddress string   `json:"IPAddress,omitempty"`
}

// CreateContainer is the body of a container's creation.
type CreateContainer struct {
	Config
	HostConfig       *HostConfig       `json:"HostConfig,omitempty"`
	NetworkingConfig *NetworkingConfig `json:"NetworkingConfig,omitempty"`
}

// Container states (Summary.State, State.Status).
const (
	StateCreated    = "created"
	StateRunning    = "running"
	StateRestarting = "restarting"
)

// Summary is a container as the list gives it.
type Summary struct {
	ID     string `json:"Id"`
	State  string
	Labels map[string]string
}

// State is a container's state.
type State struct {
	Status   string
	Running  bool
	ExitCode int
	Error    string
}

// Inspect is what the engine says of one container.
type Inspect struct {
	ID              string `json:"Id"`
	State           *State
	HostConfig      *HostConfig
	NetworkSettings *struct {
		Networks map[string]*EndpointSettings
	}
}

// ContainerCreate creates a container named name ("": the engine names it)
// and returns its ID.
func (c *Client) ContainerCreate(ctx context.Context, name string, body CreateContainer) (string, error) {
	var q url.Values
	if name != "" {
		q = url.Values{"name": {name}}
	}
	var out struct {
		ID string `json:"Id"`
	}
	err := c.call(ctx, http.MethodPost, "/containers/create", q, body, &out)
	return out.ID, err
}

// ContainerStart starts a created container.
func (c *Client) ContainerStart(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodPost, "/containers/"+escape(id)+"/start", nil, nil, nil)
}

// ContainerKill sends signal ("TERM") to a running container.
func (c *Client) ContainerKill(ctx context.Context, id, signal string) error {
	return c.call(ctx, http.MethodPost, "/containers/"+escape(id)+"/kill", url.Values{"signal": {signal}}, nil, nil)
}

// ContainerRemove removes a container, killing it first when force says
// so, with its anonymous volumes when volumes does.
func (c *Client) ContainerRemove(ctx context.Context, id string, force, volumes bool) error {
	q := url.Values{"force": {boolParam(force)}, "v": {boolParam(volumes)}}
	return c.call(ctx, http.MethodDelete, "/containers/"+escape(id), q, nil, nil)
}

// ContainerInspect says what the engine knows of a container.
func (c *Client) ContainerInspect(ctx context.Context, id string) (Inspect, error) {
	var in Inspect
	err := c.call(ctx, http.MethodGet, "/containers/"+escape(id)+"/json", nil, nil, &in)
	return in, err
}

// ContainerList lists the containers that match f, stopped ones too when
// all says so.
func (c *Client) ContainerList(ctx context.Context, all bool, f Filters) ([]Summary, error) {
	var out []Summary
	err := c.call(ctx, http.MethodGet, "/containers/json", f.query(url.Values{"all": {boolParam(all)}}), nil, &out)
	return out, err
}

// ContainerLogs returns the last tail lines a container wrote to its
// stdout and stderr, multiplexed as the engine sends them for a container
// with no terminal (github.com/moby/moby/api/pkg/stdcopy reads it). The
// caller closes it.
func (c *Client) ContainerLogs(ctx context.Context, id, tail string) (io.ReadCloser, error) {
	q := url.Values{"stdout": {"1"}, "stderr": {"1"}, "tail": {tail}}
	resp, err := c.request(ctx, http.MethodGet, "/containers/"+escape(id)+"/logs", q, nil, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func boolParam(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
