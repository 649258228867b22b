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

// The reasons the audit log gives for stops the loop decides on its own
// (besides engine.Provision's idle and one-shot decisions).
const (
	ReasonProviderGone = "its group's provider was removed or replaced"
	ReasonUnknown      = "listed by the provider but not an instance of any group"
)

// Loop applies engine.Provision to every agent group that has a provider.
// It runs on one server. A pass is idempotent: instances are recorded
// before they are started and forgotten only once their provider no
// longer lists them, so a pass repeated, or one after a restart, never
// starts more than a group's max.
type Loop struct {
	Store *store.Store
	// Process is the process provider (nil: groups of kind process start nothing).
	Process *Process
	// Container is the container provider (nil: groups of kind container
	// start nothing).
	Container *Container
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
	case lathe.ProviderContainer:
		if l.Container != nil {
			return imageProvider{l.Container, p.Image}
		}
	}
	return nil
}

// sameProvider reports whether a and b start agents the same way: an
// instance started otherwise than by its group's provider is stopped.
func sameProvider(a, b *lathe.AgentProvider) bool {
	return a != nil && b != nil && a.Kind == b.Kind && a.Command == b.Command && a.Image == b.Image
}

func (l *Loop) group(ctx context.Context, g *lathe.AgentGroup) error {
	all, err := l.reconcile(ctx, g)
	if err != nil || g.Provider == nil {
		return err
	}
	prov := l.provider(g.Provider)
	if prov == nil {
		return nil
	}
	// The decision counts the instances of the group's provider; those of
	// one it had before are being stopped (see reconcile).
	var insts []*lathe.AgentInstance
	for _, in := range all {
		if in.StartedBy == nil || sameProvider(in.StartedBy, g.Provider) {
			insts = append(insts, in)
		}
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
		in, err := l.Store.AddInstanceOf(ctx, g.ID, name, g.Provider.Max, g.Provider)
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
	l.auditWhy(ctx, action, g, name, handle, errText, "")
}

// auditWhy is audit with the reason for an action the loop took on its own.
func (l *Loop) auditWhy(ctx context.Context, action string, g *lathe.AgentGroup, name, handle, errText, reason string) {
	kind := "" // the group's provider was removed
	if g.Provider != nil {
		kind = g.Provider.Kind
	}
	details := map[string]any{"group": g.Name, "instance": name, "handle": handle, "provider": kind}
	if errText != "" {
		details["error"] = errText
	}
	if reason != "" {
		details["reason"] = reason
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

// reconcile forgets the instances of g their providers no longer list
// (one-shot agents that ran their job, stopped ones, crashed ones), stops
// those a provider the group no longer has started, stops what a provider
// lists under the group that no instance of any group is (see below), and
// returns the instances left. Each instance is listed and stopped through
// the provider that started it.
func (l *Loop) reconcile(ctx context.Context, g *lathe.AgentGroup) ([]*lathe.AgentInstance, error) {
	insts, err := l.Store.Instances(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	type started struct {
		p     *lathe.AgentProvider
		insts []*lathe.AgentInstance
	}
	var byProvider []*started
	find := func(p *lathe.AgentProvider) *started {
		for _, b := range byProvider {
			if sameProvider(b.p, p) {
				return b
			}
		}
		b := &started{p: p}
		byProvider = append(byProvider, b)
		return b
	}
	if g.Provider != nil {
		find(g.Provider)
	}
	var errs []error
	gone := false
	for _, in := range insts {
		p := in.StartedBy
		if p == nil {
			p = g.Provider
		}
		if p == nil {
			// From before instances kept their provider, and the group
			// has none now: nothing can list or stop it.
			if err := l.Store.RemoveInstance(ctx, in.ID); err != nil {
				return nil, err
			}
			l.auditWhy(ctx, "agent_instance.gone", g, in.Name, in.Handle, "", ReasonProviderGone)
			gone = true
			continue
		}
		b := find(p)
		b.insts = append(b.insts, in)
	}
	for _, b := range byProvider {
		prov := l.provider(b.p)
		if prov == nil {
			continue
		}
		stale := !sameProvider(b.p, g.Provider)
		listed, err := prov.List(ctx, g.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		changed, err := l.reconcileWith(ctx, g, prov, b.insts, listed, stale)
		if err != nil {
			return nil, err
		}
		gone = gone || changed
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
	return insts, errors.Join(errs...)
}

// reconcileWith applies what prov lists under g to the instances it
// started; stale ones (their group no longer has that provider) are
// stopped. It reports whether it forgot any.
//
// An agent prov lists that no instance of any group is named after (its
// row was removed while it ran: its group or provider was removed, or a
// server forgot it) is stopped, not adopted: a row is written before
// every start, so such an agent was never counted against a max, and
// adopting it could serve a group that no longer wants it.
func (l *Loop) reconcileWith(ctx context.Context, g *lathe.AgentGroup, prov Provider, insts []*lathe.AgentInstance, listed []Listed, stale bool) (bool, error) {
	alive := map[string]bool{}
	for _, x := range listed {
		alive[x.Name] = true
	}
	known := map[string]bool{}
	gone := false
	now := l.Clock.Now()
	for _, in := range insts {
		known[in.Name] = true
		switch {
		case in.State == lathe.InstanceFailed && now.Sub(in.UpdatedAt) > KeepFailed:
			// Shown for a while, then forgotten.
		case alive[in.Name] && stale && in.State != lathe.InstanceStopping:
			if err := l.Store.SetInstance(ctx, in.ID, lathe.InstanceStopping, in.Handle, ""); err != nil {
				return gone, err
			}
			if err := prov.Stop(ctx, g.Name, in.Name, in.Handle); err != nil {
				l.Store.SetInstance(ctx, in.ID, lathe.InstanceFailed, in.Handle, err.Error())
				l.audit(ctx, "agent_instance.stop_failed", g, in.Name, in.Handle, err.Error())
				continue
			}
			l.auditWhy(ctx, "agent_instance.stop", g, in.Name, in.Handle, "", ReasonProviderGone)
			continue
		case in.State == lathe.InstanceFailed || alive[in.Name]:
			continue
		case in.State == lathe.InstanceStarting:
			// Gone before its agent registered: a failure to show (and
			// to back off from), not a stop.
			msg := "the agent exited before it registered (see its log)"
			if err := l.Store.SetInstance(ctx, in.ID, lathe.InstanceFailed, in.Handle, msg); err != nil {
				return gone, err
			}
			l.audit(ctx, "agent_instance.failed", g, in.Name, in.Handle, msg)
			gone = true
			continue
		}
		if err := l.Store.RemoveInstance(ctx, in.ID); err != nil {
			return gone, err
		}
		l.audit(ctx, "agent_instance.gone", g, in.Name, in.Handle, "")
		gone = true
	}
	for _, x := range listed {
		if known[x.Name] {
			continue
		}
		if named, err := l.Store.InstanceNamed(ctx, x.Name); err != nil || named {
			// Another group's (a name prefix may match): its own group's
			// pass deals with it.
			continue
		}
		if err := prov.Stop(ctx, g.Name, x.Name, x.Handle); err != nil {
			l.audit(ctx, "agent_instance.stop_failed", g, x.Name, x.Handle, err.Error())
			continue
		}
		l.auditWhy(ctx, "agent_instance.stop", g, x.Name, x.Handle, "", ReasonUnknown)
	}
	return gone, nil
}
