package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// Labels the container executor puts on every container and network it
// makes, so an agent finds what an earlier life of it left behind.
const (
	LabelAgent    = "lathe.agent"
	LabelAgentDir = "lathe.agent-dir" // the agent's work directory
	LabelAttempt  = "lathe.attempt"
	LabelRole     = "lathe.role" // "job" or "service"
)

// IsolationContainer is the isolation of jobs run by Containers.
const IsolationContainer = "container"

// Containers runs jobs that name an image: one container per job, created
// from the image, its steps exec'd inside it one after another as User,
// with the workspace and home bind-mounted at the paths they have on the
// agent's machine, and the job's services beside it on a network of the
// job's own. Everything it makes is labelled with the agent and the
// attempt, and removed when the job ends (or, after a crash, when the
// agent starts again: RemoveLeftovers).
type Containers struct {
	Engine *Engine
	// Agent names the agent in the labels; Dir, its work directory, tells
	// it from an agent of the same name (of another server) on the engine.
	Agent, Dir string
	// User is who steps run as; nil for the agent's own user.
	User *User
	// NoNetwork gives jobs a network of their own with no way out (their
	// services are still reachable).
	NoNetwork bool
	// Grace is how long a canceled step's processes have between SIGTERM and SIGKILL.
	Grace time.Duration
}

// Isolation is "container".
func (c *Containers) Isolation() string { return IsolationContainer }

// Start makes the job's network, starts its services and waits until they
// are ready, then starts the job container. Spec.Container says what to
// run; Spec.Attempt labels it all. A failure removes whatever was made.
func (c *Containers) Start(ctx context.Context, spec Spec) (Job, error) {
	if spec.Container == nil || spec.Container.Image == "" {
		return nil, errors.New("container executor: the job names no image")
	}
	if err := fill(spec); err != nil {
		return nil, err
	}
	return startContainerJob(ctx, c, spec)
}

// RemoveLeftovers removes every container and network labelled with this
// agent: an agent runs one attempt at a time and calls this before it
// claims one, so all of them belong to attempts it no longer owns.
func (c *Containers) RemoveLeftovers(ctx context.Context) (int, error) {
	return c.Engine.RemoveLabelled(ctx, c.agentLabels()...)
}

// agentLabels are the labels of everything this agent makes, as filters.
func (c *Containers) agentLabels() []string {
	return []string{LabelAgent + "=" + c.Agent, LabelAgentDir + "=" + c.Dir}
}

// NewContainers returns the container executor of the agent named agent,
// working in dir, on e: its steps run as opts.JobUser when the agent runs
// as root, on a network with no way out when opts.Network is "none".
func NewContainers(e *Engine, opts Options, agent, dir string) (*Containers, error) {
	c := &Containers{Engine: e, Agent: agent, Dir: dir, Grace: opts.Grace}
	switch opts.Network {
	case "", "shared":
	case "none":
		c.NoNetwork = true
	default:
		return nil, fmt.Errorf("job network %q: choose shared or none", opts.Network)
	}
	if os.Geteuid() == 0 {
		u, err := LookupUser(opts.JobUser)
		if err != nil {
			return nil, err
		}
		c.User = u
	}
	return c, nil
}

// user is the "UID:GID" steps run as.
func (c *Containers) user() string {
	if c.User != nil {
		return strconv.Itoa(c.User.Uid) + ":" + strconv.Itoa(c.User.Gid)
	}
	return strconv.Itoa(os.Getuid()) + ":" + strconv.Itoa(os.Getgid())
}

// initUser is the "UID:GID" the job container's init runs as: a user
// without privileges that is not the steps' (see keepAlive).
func (c *Containers) initUser() string {
	uid := 65534 // nobody
	if c.stepUID() == uid {
		uid--
	}
	return strconv.Itoa(uid) + ":" + strconv.Itoa(uid)
}

// stepUID is the user ID steps run as.
func (c *Containers) stepUID() int {
	if c.User != nil {
		return c.User.Uid
	}
	return os.Getuid()
}

// own gives the steps' user what the agent wrote at path (as root only).
func (c *Containers) own(path string) error {
	if c.User == nil || os.Geteuid() != 0 {
		return nil
	}
	return chownTree(path, c.User.Uid, c.User.Gid)
}

func (c *Containers) grace() time.Duration {
	if c.Grace > 0 {
		return c.Grace
	}
	return 10 * time.Second
}

// ContainerBaseEnv is where a container job's environment starts: like
// BaseEnv, never the agent's own environment, but without PATH and LANG,
// which the image's own environment gives.
func ContainerBaseEnv(home string, pass []string) []string {
	env := []string{"HOME=" + home}
	for _, name := range pass {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// serviceTimeout is how long the job waits for svc to be ready.
func serviceTimeout(svc lathe.Service) time.Duration {
	if svc.ReadyTimeoutSec > 0 {
		return time.Duration(svc.ReadyTimeoutSec) * time.Second
	}
	return lathe.DefaultServiceReadyTimeout
}
