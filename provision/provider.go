// Package provision starts and stops agents on demand: a loop applies
// engine.Provision's decisions to each agent group that has a provider,
// through that provider (process: `lathe agent` processes on the server's
// machine; command: an operator's executable, see docs/providers.md).
package provision

import "context"

// Spec is what a provider needs to start one agent.
type Spec struct {
	// Group is the agent group; Name the agent's (and instance's) name.
	Group string `json:"group"`
	Name  string `json:"name"`
	// Server is the URL the agent reaches the server at.
	Server string `json:"server"`
	// RegistrationToken registers the agent on its first start.
	RegistrationToken string   `json:"registration_token"`
	Labels            []string `json:"labels"`
	// OneShot: the agent runs one job, then exits (lathe agent --one-shot).
	OneShot bool `json:"one_shot"`
}

// Listed is one running instance as its provider sees it.
type Listed struct {
	Name   string `json:"name"`
	Handle string `json:"handle"`
}

// Provider starts, stops and lists a group's agents.
type Provider interface {
	// Start starts an agent and returns its handle (a PID, a cloud instance ID).
	Start(ctx context.Context, s Spec) (handle string, err error)
	// Stop asks the agent to stop: it drains (finishes its job) and exits.
	Stop(ctx context.Context, group, name, handle string) error
	// List returns the group's agents that still exist.
	List(ctx context.Context, group string) ([]Listed, error)
}
