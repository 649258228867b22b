package engine

import (
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// ProvisionInput is what a group's provider decision looks at.
type ProvisionInput struct {
	// Group is the group's name; its agents carry the label group:NAME.
	Group    string
	Provider lathe.AgentProvider
	// Queued holds the labels (runs_on) of every queued job.
	Queued [][]string
	// Instances are the group's instances, with their states.
	Instances []*lathe.AgentInstance
	Now       time.Time
	// Backoff: an instance failed less than this long ago starts none.
	Backoff time.Duration
}

// ProvisionDecision says what to do: start Start new instances, stop the
// instances listed in Stop (by ID).
type ProvisionDecision struct {
	Start int
	Stop  []int64
	// Waiting is how many queued jobs the group's agents may take.
	Waiting int
}

// ProviderLabels are the labels of the agents a group's provider starts:
// its own and group:NAME.
func ProviderLabels(group string, p lathe.AgentProvider) []string {
	return append(append([]string{}, p.Labels...), "group:"+group)
}

// Provision decides a group's starts and stops. Waiting jobs the group's
// agents may take are first matched to the instances that are ready or
// starting; an instance is started for each one left, while the group
// has fewer than Max instances (failed ones do not count). Below Min,
// instances are started to reach it. Nothing starts within Backoff of an
// instance failing. A ready instance idle for
// IdleTimeout is stopped when the group keeps Min without it and no
// waiting job is left for it; a one-shot instance whose agent has run its
// job is stopped at once. The same input always gives the same decision,
// so applying it again after a restart changes nothing.
func Provision(in ProvisionInput) ProvisionDecision {
	p := in.Provider
	labels := ProviderLabels(in.Group, p)
	var d ProvisionDecision
	for _, want := range in.Queued {
		if Eligible(labels, want) {
			d.Waiting++
		}
	}
	live, available := 0, 0
	backoff := false
	var idle []*lathe.AgentInstance
	for _, inst := range in.Instances {
		switch inst.State {
		case lathe.InstanceFailed:
			backoff = backoff || in.Now.Sub(inst.UpdatedAt) < in.Backoff
			continue
		case lathe.InstanceStopping:
			live++
			continue
		}
		live++
		spent := p.OneShot && inst.Ran > 0 && inst.State == lathe.InstanceReady
		switch {
		case spent:
			d.Stop = append(d.Stop, inst.ID)
		case inst.State == lathe.InstanceStarting:
			available++
		case inst.State == lathe.InstanceReady:
			available++
			idle = append(idle, inst)
		}
	}
	need := max(d.Waiting-available, p.Min-(live-len(d.Stop)), 0)
	d.Start = min(need, max(p.Max-live, 0))
	if backoff {
		d.Start = 0
	}
	// Idle ready instances beyond those waiting jobs will take, and above Min, stop.
	spare := available - d.Waiting
	kept := live - len(d.Stop)
	for _, inst := range idle {
		if spare <= 0 || kept <= p.Min {
			break
		}
		if inst.IdleSince != nil && in.Now.Sub(*inst.IdleSince) >= p.IdleTimeout() {
			d.Stop = append(d.Stop, inst.ID)
			spare--
			kept--
		}
	}
	return d
}
