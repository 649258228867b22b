package lathe

import (
	"fmt"
	"strings"
	"time"
)

// The kinds of agent provider.
const (
	// ProviderProcess starts `lathe agent` processes on the server's machine.
	ProviderProcess = "process"
	// ProviderCommand runs an operator's executable (see docs/providers.md).
	ProviderCommand = "command"
	// ProviderContainer starts each agent in a container through the
	// server's container engine (--container-host), from Image, with the
	// server's own lathe binary mounted in it.
	ProviderContainer = "container"
)

// AgentProvider starts a group's agents when jobs wait for its labels and
// stops them when idle.
type AgentProvider struct {
	// Kind is process or command.
	Kind string `json:"kind"`
	// Command is the executable of a command provider (an absolute path).
	Command string `json:"command,omitempty"`
	// Image is the image of a container provider's agents.
	Image string `json:"image,omitempty"`
	// Labels are the labels of the agents it starts, besides group:NAME.
	Labels []string `json:"labels"`
	// Min agents are kept running even when idle; at most Max run at once.
	Min int `json:"min"`
	Max int `json:"max"`
	// IdleTimeoutSec is how long an agent above Min may stay idle before it is stopped.
	IdleTimeoutSec int `json:"idle_timeout_sec"`
	// OneShot agents run one job then exit: every job gets a fresh agent.
	OneShot bool `json:"one_shot"`
}

// IdleTimeout is IdleTimeoutSec as a duration.
func (p *AgentProvider) IdleTimeout() time.Duration {
	return time.Duration(p.IdleTimeoutSec) * time.Second
}

// Check names the first bad field of p, or returns nil.
func (p *AgentProvider) Check() error {
	switch p.Kind {
	case ProviderProcess:
		if p.Command != "" {
			return fmt.Errorf("provider.command: only a command provider has one: %w", ErrInvalid)
		}
	case ProviderCommand:
		if len(p.Command) == 0 || p.Command[0] != '/' {
			return fmt.Errorf("provider.command: %q: an absolute path to an executable is required: %w", p.Command, ErrInvalid)
		}
	case ProviderContainer:
		if p.Command != "" {
			return fmt.Errorf("provider.command: only a command provider has one: %w", ErrInvalid)
		}
		if p.Image == "" || len(p.Image) > 255 || strings.ContainsAny(p.Image, " \t\n") {
			return fmt.Errorf("provider.image: %q: a container provider needs an image reference such as debian:12: %w", p.Image, ErrInvalid)
		}
	default:
		return fmt.Errorf("provider.kind: %q: want process, command or container: %w", p.Kind, ErrInvalid)
	}
	if p.Kind != ProviderContainer && p.Image != "" {
		return fmt.Errorf("provider.image: only a container provider has one: %w", ErrInvalid)
	}
	if p.Max < 1 || p.Max > 1000 {
		return fmt.Errorf("provider.max: %d: want 1 to 1000: %w", p.Max, ErrInvalid)
	}
	if p.Min < 0 || p.Min > p.Max {
		return fmt.Errorf("provider.min: %d: want 0 to max (%d): %w", p.Min, p.Max, ErrInvalid)
	}
	if p.IdleTimeoutSec < 0 || p.IdleTimeoutSec > 7*24*3600 {
		return fmt.Errorf("provider.idle_timeout_sec: %d: want 0 to 604800: %w", p.IdleTimeoutSec, ErrInvalid)
	}
	if len(p.Labels) > 50 {
		return fmt.Errorf("provider.labels: %d labels: at most 50: %w", len(p.Labels), ErrInvalid)
	}
	for _, l := range p.Labels {
		if l == "" || len(l) > 100 {
			return fmt.Errorf("provider.labels: %q: want 1 to 100 characters: %w", l, ErrInvalid)
		}
	}
	return nil
}

// The states of an agent instance.
const (
	// InstanceStarting: recorded and asked for; its agent has not registered yet.
	InstanceStarting = "starting"
	// InstanceReady: its agent is registered and runs no job.
	InstanceReady = "ready"
	// InstanceBusy: its agent runs a job (Job says which).
	InstanceBusy = "busy"
	// InstanceStopping: asked to stop; the row goes once the provider no longer lists it.
	InstanceStopping = "stopping"
	// InstanceFailed: the provider could not start or stop it (Error says why).
	InstanceFailed = "failed"
)

// AgentInstance is one agent a group's provider started.
type AgentInstance struct {
	ID    int64  `json:"id"`
	Group string `json:"group"`
	// Name is the agent's name once it registers.
	Name  string `json:"name"`
	State string `json:"state"`
	// Handle is the provider's ID for it (a PID, a cloud instance ID).
	Handle string `json:"handle"`
	// Job is the job its agent runs (busy only).
	Job   *int64 `json:"job"`
	Error string `json:"error"`
	// Ran is how many jobs its agent has run (or runs).
	Ran int `json:"ran"`
	// IdleSince is when its agent last became idle (ready only).
	IdleSince *time.Time `json:"idle_since"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`

	// StartedBy is the provider that started it (nil for instances
	// recorded before it was kept: the group's provider).
	StartedBy *AgentProvider `json:"-"`
}
