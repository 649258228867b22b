package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/engine"
	"github.com/lathe-ci/lathe/store"
)

// DefaultInterval is how often the loop looks at the groups without being woken.
const DefaultInterval = 2 * time.Second

// Backoff is how long after an instance fails its group starts no other.
const Backoff = 30 * time.Second

// KeepFailed is how long a failed instance is shown before it is forgotten.
const KeepFailed = time.Hour

// Actor is the audit log's actor of the loop's events.
const Actor = "provider"

// Loop applies engine.Provision to every agent group that has a provider.
// It runs on one server. A pass is idempotent: instances are recorded
// before they are started and forgotten only once their provider no
// longer lists them, so a pass repeated, or one after a restart, never
// starts more than a group's max.
type Loop struct {
	Store *store.Store
	// Process is the process provider (nil: groups of kind process start nothing).
	Process *Process
	// Server is the URL agents reach the server at.
	Server string
	// RegistrationToken returns the token that registers the agents the
	// loop starts (made when first needed).
	RegistrationToken func(context.Context) (string, error)
	Interval          time.Duration
	Clock             clock.Clock
	Log               *slog.Logger
}

// Run passes over the groups every Interval, and when a job is queued,
// until ctx ends.
func (l *Loop) Run(ctx context.Context) {
	if l.Clock == nil {
		l.Clock = clock.System
	}
	if l.Interval <= 0 {
		l.Interval = DefaultInterval
	}
	for {
		wake := l.Store.WorkSignal()
		if err := l.Pass(ctx); err != nil && ctx.Err() == nil {
			l.Log.Warn("agent providers", "err", err)
		}
		t := time.NewTimer(l.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// Pass reconciles and decides for every group that has a provider.
func (l *Loop) Pass(ctx context.Context) error {
	groups, err := l.Store.ProviderGroups(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, g := range groups {
		if err := l.group(ctx, g); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (l *Loop) provider(p *lathe.AgentProvider) Provider {
	switch p.Kind {
	case lathe.ProviderProcess:
		if l.Process != nil {
			return l.Process
		}
	case lathe.ProviderCommand:
		return &Command{Path: p.Command}
	}
	return nil
}

func (l *Loop) group(ctx context.Context, g *lathe.AgentGroup) error {
	prov := l.provider(g.Provider)
	if prov == nil {
		return nil
	}
	insts, err := l.reconcile(ctx, g)
	if err != nil {
		return err
	}
	queued, err := l.Store.QueuedLabels(ctx)
	if err != nil {
		return err
	}
	d := engine.Provision(engine.ProvisionInput{Group: g.Name, Provider: *g.Provider, Queued: queued, Instances: insts, Now: l.Clock.Now(), Backoff: Backoff})
	byID := map[int64]*lathe.AgentInstance{}
	for _, in := range insts {
		byID[in.ID] = in
	}
	for _, id := range d.Stop {
		in := byID[id]
		if err := l.Store.SetInstance(ctx, id, lathe.InstanceStopping, in.Handle, ""); err != nil {
			return err
		}
		if err := prov.Stop(ctx, g.Name, in.Name, in.Handle); err != nil {
			l.Store.SetInstance(ctx, id, lathe.InstanceFailed, in.Handle, err.Error())
			l.audit(ctx, "agent_instance.stop_failed", g, in.Name, in.Handle, err.Error())
			continue
		}
		l.audit(ctx, "agent_instance.stop", g, in.Name, in.Handle, "")
	}
	for i := 0; i < d.Start; i++ {
		if _, err := l.RegistrationToken(ctx); err != nil {
			return err
		}
		name := g.Name + "-" + suffix()
		in, err := l.Store.AddInstance(ctx, g.ID, name, g.Provider.Max)
		if errors.Is(err, lathe.ErrConflict) {
			break // at max: another pass counted first
		}
		if err != nil {
			return err
		}
		token, _ := l.RegistrationToken(ctx)
		handle, err := prov.Start(ctx, Spec{Group: g.Name, Name: name, Server: l.Server, RegistrationToken: token,
			Labels: g.Provider.Labels, OneShot: g.Provider.OneShot})
		if err != nil {
			l.Store.SetInstance(ctx, in.ID, lathe.InstanceFailed, "", err.Error())
			l.audit(ctx, "agent_instance.start_failed", g, name, "", err.Error())
			continue
		}
		if err := l.Store.SetInstance(ctx, in.ID, lathe.InstanceStarting, handle, ""); err != nil {
			return err
		}
		l.audit(ctx, "agent_instance.start", g, name, handle, "")
	}
	return nil
}

func (l *Loop) audit(ctx context.Context, action string, g *lathe.AgentGroup, name, handle, errText string) {
	details := map[string]any{"group": g.Name, "instance": name, "handle": handle, "provider": g.Provider.Kind}
	if errText != "" {
		details["error"] = errText
	}
	if err := l.Store.Audit(ctx, Actor, action, 0, details); err != nil {
		l.Log.Warn("audit", "action", action, "err", err)
	}
}

// suffix makes an instance's name unique.
func suffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Forget removes the instances their providers no longer list, starting
// and stopping nothing: the server calls it once it has stopped the
// process provider's agents.
func (l *Loop) Forget(ctx context.Context) error {
	groups, err := l.Store.ProviderGroups(ctx)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if _, err := l.reconcile(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

// reconcile forgets the instances of g its provider no longer lists
// (one-shot agents that ran their job, stopped ones, crashed ones) and
// returns those left.
func (l *Loop) reconcile(ctx context.Context, g *lathe.AgentGroup) ([]*lathe.AgentInstance, error) {
	prov := l.provider(g.Provider)
	if prov == nil {
		return nil, nil
	}
	insts, err := l.Store.Instances(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	listed, err := prov.List(ctx, g.Name)
	if err != nil {
		return nil, err
	}
	alive := map[string]bool{}
	for _, x := range listed {
		alive[x.Name] = true
	}
	gone := false
	now := l.Clock.Now()
	for _, in := range insts {
		switch {
		case in.State == lathe.InstanceFailed && now.Sub(in.UpdatedAt) > KeepFailed:
			// Shown for a while, then forgotten.
		case in.State == lathe.InstanceFailed || alive[in.Name]:
			continue
		case in.State == lathe.InstanceStarting:
			// Gone before its agent registered: a failure to show (and
			// to back off from), not a stop.
			msg := "the agent exited before it registered (see its log)"
			if err := l.Store.SetInstance(ctx, in.ID, lathe.InstanceFailed, in.Handle, msg); err != nil {
				return nil, err
			}
			l.audit(ctx, "agent_instance.failed", g, in.Name, in.Handle, msg)
			gone = true
			continue
		}
		if err := l.Store.RemoveInstance(ctx, in.ID); err != nil {
			return nil, err
		}
		l.audit(ctx, "agent_instance.gone", g, in.Name, in.Handle, "")
		gone = true
	}
	// The provider's agents are the group's members (and so carry group:NAME).
	if err := l.Store.JoinInstanceAgents(ctx, g.ID); err != nil {
		return nil, err
	}
	if gone {
		if insts, err = l.Store.Instances(ctx, g.ID); err != nil {
			return nil, err
		}
	}
	return insts, nil
}
