package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/dockerapi"
)

// The labels of the containers the container provider starts: they are
// found again (after a restart too) by them, never by name.
const (
	LabelProvider = "lathe.agent-provider"
	LabelGroup    = "lathe.agent-provider.group"
	LabelName     = "lathe.agent-provider.name"
)

// ContainerBinary is where the server's lathe binary is mounted in an
// agent's container (read-only); ContainerWorkDir is the agent's work
// directory there.
const (
	ContainerBinary  = "/opt/lathe/lathe"
	ContainerWorkDir = "/var/lib/lathe-agent"
)

// Container starts each agent in a container of the group's image through
// a container engine (Docker's daemon or Podman's service, the one
// --container-host names): the server's own lathe binary (it must be
// static, as release builds are, unless the image has its libc) is
// bind-mounted read-only at ContainerBinary and runs `lathe agent`, with
// the registration token in its environment. The agent runs its steps
// with the shell executor: the container is the isolation. Containers
// share the host's network, so the agent reaches the server at the URL
// the server listens on. An exited container (a one-shot agent that ran
// its job, a crashed one) is removed when the group is next listed.
type Container struct {
	// Host is the engine's address (empty: executor.DefaultEngineHost).
	Host string
	// Binary is the lathe executable on the host (the server's own).
	Binary string
	// Args are more flags for every agent.
	Args []string
	// Binds are more bind mounts (HOST:CONTAINER[:ro]) of every agent
	// container: a CA bundle, a local repository.
	Binds []string

	mu     sync.Mutex
	engine *executor.Engine
}

// api connects to the engine once, when first needed.
func (c *Container) api(ctx context.Context) (*dockerapi.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.engine == nil {
		e, err := executor.ConnectEngine(ctx, c.Host)
		if err != nil {
			return nil, fmt.Errorf("container provider: %w", err)
		}
		c.engine = e
	}
	return c.engine.Client(), nil
}

// Start creates and starts the agent's container from image; it returns
// the container's ID.
func (c *Container) Start(ctx context.Context, s Spec, image string) (string, error) {
	api, err := c.api(ctx)
	if err != nil {
		return "", err
	}
	if _, err := api.ImageInspect(ctx, image); err != nil {
		if !dockerapi.IsNotFound(err) {
			return "", fmt.Errorf("image %s: %w", image, err)
		}
		if err := c.engine.EnsureImage(ctx, image, "if-not-present", nil); err != nil {
			return "", err
		}
	}
	cmd := []string{ContainerBinary, "agent", "--server", s.Server, "--name", s.Name, "--labels", strings.Join(s.Labels, ","),
		"--work-dir", ContainerWorkDir, "--executor", "shell", "--container-host", "none"}
	if s.OneShot {
		cmd = append(cmd, "--one-shot")
	}
	id, err := api.ContainerCreate(ctx, "lathe-agent-"+s.Name, dockerapi.CreateContainer{
		Config: dockerapi.Config{
			Image:      image,
			Entrypoint: append(cmd, c.Args...),
			Env:        []string{"LATHE_REGISTRATION_TOKEN=" + s.RegistrationToken},
			Labels:     map[string]string{LabelProvider: "1", LabelGroup: s.Group, LabelName: s.Name},
		},
		HostConfig: &dockerapi.HostConfig{
			Binds:       append([]string{c.Binary + ":" + ContainerBinary + ":ro"}, c.Binds...),
			NetworkMode: "host",
			Init:        new(true),
		},
	})
	if err != nil {
		return "", fmt.Errorf("create the agent container from %s: %w", image, err)
	}
	if err := api.ContainerStart(ctx, id); err != nil {
		api.ContainerRemove(context.WithoutCancel(ctx), id, true, false)
		return "", fmt.Errorf("start the agent container from %s: %w", image, err)
	}
	return id, nil
}

// Stop asks the agent to stop (SIGTERM: it drains, then exits); its
// container is removed once it has exited.
func (c *Container) Stop(ctx context.Context, group, name, handle string) error {
	api, err := c.api(ctx)
	if err != nil {
		return err
	}
	id, err := c.find(ctx, api, name, handle)
	if err != nil || id == "" {
		return err
	}
	err = api.ContainerKill(ctx, id, "TERM")
	if err == nil || dockerapi.IsNotFound(err) || dockerapi.IsConflict(err) {
		return nil
	}
	// Podman refuses to signal a container that is not running with 500,
	// where Docker says 409: an agent that has exited is stopped either way.
	if in, ierr := api.ContainerInspect(ctx, id); ierr == nil && in.State != nil && !in.State.Running {
		return nil
	}
	return fmt.Errorf("stop agent container %.12s: %w", id, err)
}

// find returns the ID of agent name's container ("" when there is none);
// the handle counts only if the container carries the agent's labels.
func (c *Container) find(ctx context.Context, api *dockerapi.Client, name, handle string) (string, error) {
	f := dockerapi.Filters{"label": {LabelProvider + "=1", LabelName + "=" + name}}
	cs, err := api.ContainerList(ctx, true, f)
	if err != nil {
		return "", fmt.Errorf("list agent containers: %w", err)
	}
	for _, x := range cs {
		if handle == "" || x.ID == handle {
			return x.ID, nil
		}
	}
	return "", nil
}

// List returns the group's running agent containers (all groups' when
// group is ""), and removes those that have exited.
func (c *Container) List(ctx context.Context, group string) ([]Listed, error) {
	api, err := c.api(ctx)
	if err != nil {
		return nil, err
	}
	f := dockerapi.Filters{"label": {LabelProvider + "=1"}}
	if group != "" {
		f["label"] = append(f["label"], LabelGroup+"="+group)
	}
	cs, err := api.ContainerList(ctx, true, f)
	if err != nil {
		return nil, fmt.Errorf("list agent containers: %w", err)
	}
	var out []Listed
	var errs []error
	for _, x := range cs {
		if x.State == dockerapi.StateRunning || x.State == dockerapi.StateCreated || x.State == dockerapi.StateRestarting {
			out = append(out, Listed{Name: x.Labels[LabelName], Handle: x.ID})
			continue
		}
		if err := api.ContainerRemove(ctx, x.ID, true, false); err != nil && !dockerapi.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove exited agent container %.12s: %w", x.ID, err))
		}
	}
	return out, errors.Join(errs...)
}

// RemoveAll removes every agent container at once (the server stops; its
// agents' running jobs are handed back by their leases).
func (c *Container) RemoveAll(ctx context.Context) error {
	c.mu.Lock()
	connected := c.engine != nil
	c.mu.Unlock()
	if !connected {
		return nil
	}
	_, err := c.engine.RemoveLabelled(ctx, LabelProvider+"=1")
	return err
}

// Close ends the connection to the engine.
func (c *Container) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.engine == nil {
		return nil
	}
	return c.engine.Close()
}

// imageProvider is the Provider of one group's image.
type imageProvider struct {
	c     *Container
	image string
}

func (p imageProvider) Start(ctx context.Context, s Spec) (string, error) {
	return p.c.Start(ctx, s, p.image)
}
func (p imageProvider) Stop(ctx context.Context, group, name, handle string) error {
	return p.c.Stop(ctx, group, name, handle)
}
func (p imageProvider) List(ctx context.Context, group string) ([]Listed, error) {
	return p.c.List(ctx, group)
}
