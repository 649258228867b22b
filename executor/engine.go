package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lathe-ci/lathe/internal/dockerapi"
)

// Engine is a container engine reached through the Docker Engine API over
// a Unix socket: Docker's own daemon, or Podman's Docker-compatible
// service. The container executor starts jobs through it; an agent
// provider may start agents through it too.
type Engine struct {
	// Host is the engine's address, unix:///PATH.
	Host string
	// Name says which engine answered and its version ("docker 27.5.1").
	Name string

	api *dockerapi.Client
}

// DefaultEngineHost is where an agent looks for a container engine when no
// --container-host is given: $DOCKER_HOST, else Docker's usual socket.
func DefaultEngineHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}

// ConnectEngine reaches the engine at host (a unix:// address, or the path
// of a socket) and asks its name and version: an engine that does not
// answer is an error naming the address.
func ConnectEngine(ctx context.Context, host string) (*Engine, error) {
	if host == "" {
		host = DefaultEngineHost()
	}
	if strings.HasPrefix(host, "/") {
		host = "unix://" + host
	}
	if !strings.HasPrefix(host, "unix://") {
		return nil, fmt.Errorf("container engine %q: only a Unix socket (unix:///PATH) is supported: the job's workspace is bind-mounted, so the engine must run on this machine", host)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	api, v, err := dockerapi.Connect(pctx, strings.TrimPrefix(host, "unix://"))
	if err != nil {
		return nil, fmt.Errorf("container engine %s does not answer: %w", host, err)
	}
	name := "docker"
	for _, c := range v.Components {
		if strings.Contains(strings.ToLower(c.Name), "podman") {
			name = "podman"
		}
	}
	if strings.Contains(strings.ToLower(v.Platform.Name), "podman") {
		name = "podman"
	}
	return &Engine{Host: host, Name: name + " " + v.Version, api: api}, nil
}

// Close ends the engine's connections.
func (e *Engine) Close() error { return e.api.Close() }

// Client is the engine's API client, for callers that need more than this
// package does.
func (e *Engine) Client() *dockerapi.Client { return e.api }

// EnsureImage makes image present on the engine as pull asks
// (lathe.PullIfNotPresent when empty). A missing image, or one that cannot
// be pulled, is an error with the engine's own words.
func (e *Engine) EnsureImage(ctx context.Context, image, pull string, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	switch pull {
	case "", "if-not-present", "never":
		_, err := e.api.ImageInspect(ctx, image)
		if err == nil {
			return nil
		}
		if !dockerapi.IsNotFound(err) {
			return fmt.Errorf("image %s: %w", image, err)
		}
		if pull == "never" {
			return fmt.Errorf("image %s is not on the agent's container engine and the job says pull: never: %w", image, err)
		}
	case "always":
	default:
		return fmt.Errorf("pull %q: choose if-not-present, always or never", pull)
	}
	fmt.Fprintf(log, "pulling image %s\n", image)
	if err := e.api.ImagePull(ctx, image); err != nil {
		return fmt.Errorf("pull image %s: %w", image, err)
	}
	return nil
}

// RemoveLabelled force-removes every container, then every network, that
// carries all of labels (KEY=VALUE), and says how many containers it removed.
func (e *Engine) RemoveLabelled(ctx context.Context, labels ...string) (int, error) {
	f := dockerapi.Filters{"label": labels}
	cs, err := e.api.ContainerList(ctx, true, f)
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	n := 0
	for _, c := range cs {
		if err := e.removeContainer(ctx, c.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	ns, err := e.api.NetworkList(ctx, f)
	if err != nil {
		return n, errors.Join(append(errs, fmt.Errorf("list networks: %w", err))...)
	}
	for _, nw := range ns {
		if err := e.api.NetworkRemove(ctx, nw.ID); err != nil && !dockerapi.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", nw.Name, err))
		}
	}
	return n, errors.Join(errs...)
}

// removeContainer kills and removes a container; one already gone is no error.
func (e *Engine) removeContainer(ctx context.Context, id string) error {
	err := e.api.ContainerRemove(ctx, id, true, true)
	if err != nil && !dockerapi.IsNotFound(err) {
		return fmt.Errorf("remove container %.12s: %w", id, err)
	}
	return nil
}
