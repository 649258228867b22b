package store

import (
	"context"
	"slices"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/notify"
)

// AgentCredentialTTL is how long AgentByToken trusts what it read about an
// agent's credential. Every agent request authenticates, and reading the
// agent and its groups is two queries; within the TTL it is none. It is
// longer than the longest claim long-poll, so an idle agent's poll reads
// nothing.
//
// The cache is emptied at once when this server changes any agent or group
// (disable, unauthorize, delete, a new credential, labels, membership,
// host), and it tells the other replicas (notify.Agents), whose caches
// empty when they hear it. A change made through another replica whose
// message is lost takes effect here within the TTL. What is cached never
// widens what an agent may do past that window: a claim re-reads the agent
// inside its transaction (agentMayClaim), and reports are fenced by the
// attempt's agent.
const AgentCredentialTTL = time.Minute

// agentCache maps credential hashes to the agent they authenticated.
type agentCache struct {
	mu sync.Mutex
	// gen counts the times the cache was emptied: a read of the database
	// that began before one is not stored after it.
	gen uint64
	m   map[string]cachedAgent
	// heard is the cache's wait for a change of agents (notify.Agents),
	// taken before anything cached was read: once it is closed, nothing
	// cached is trusted. stopHeard ends the wait.
	heard     <-chan struct{}
	stopHeard context.CancelFunc
}

// listen empties the cache if a change of agents was heard since it last
// listened (or it never did), and listens again. Call it with c.mu held.
func (c *agentCache) listen(n notify.Notifier) {
	if c.heard != nil && !closed(c.heard) {
		return
	}
	c.gen++
	c.m = nil
	if c.stopHeard != nil {
		c.stopHeard()
	}
	ctx, stop := context.WithCancel(context.Background())
	c.heard, c.stopHeard = n.Wait(ctx, notify.Filter{Topic: notify.Agents, All: true}), stop
}

// deafen drops the cache's wait and everything cached (the notifier changes).
func (c *agentCache) deafen() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopHeard != nil {
		c.stopHeard()
	}
	c.heard, c.stopHeard, c.m = nil, nil, nil
	c.gen++
}

type cachedAgent struct {
	a       lathe.Agent
	expires time.Time
}

// agentCacheMax bounds the entries (a fleet of agents); past it, expired
// ones are dropped, and if none were, everything.
const agentCacheMax = 100_000

// AgentByToken returns the agent whose credential hashes to tokenHash. It is
// the agent as the claim handler sees it: Labels are its effective labels,
// its own followed by "group:NAME" for each of its groups, so a job with
// runs-on [group:NAME] routes to the group's members with no change to the
// claim query. What it returns may be up to AgentCredentialTTL old (see there);
// an unknown credential is never cached.
func (s *Store) AgentByToken(ctx context.Context, tokenHash string) (*lathe.Agent, error) {
	now := s.now()
	c := &s.agents
	c.mu.Lock()
	c.listen(s.notifier)
	e, ok := c.m[tokenHash]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return cloneAgent(&e.a), nil
	}
	a, err := s.agentByToken(ctx, tokenHash)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if c.m == nil {
			c.m = map[string]cachedAgent{}
		}
		if len(c.m) >= agentCacheMax {
			c.m = dropExpired(c.m, now)
		}
		c.m[tokenHash] = cachedAgent{a: *cloneAgent(a), expires: now.Add(AgentCredentialTTL)}
	}
	c.mu.Unlock()
	return a, nil
}

// forgetAgents empties the credential cache and tells the other replicas
// to empty theirs: an agent or group changed.
func (s *Store) forgetAgents() {
	c := &s.agents
	c.mu.Lock()
	c.gen++
	c.m = nil
	c.mu.Unlock()
	s.notifier.Publish(notify.Message{Topic: notify.Agents})
}

// agentsChanged runs after a change to agents or groups commits: it
// empties the credential cache, then wakes the waiting claims, which read
// the agent again.
func agentsChanged(s *Store) {
	s.forgetAgents()
	wakeClaimers(s)
}

func dropExpired(m map[string]cachedAgent, now time.Time) map[string]cachedAgent {
	for k, e := range m {
		if !now.Before(e.expires) {
			delete(m, k)
		}
	}
	if len(m) >= agentCacheMax {
		return map[string]cachedAgent{}
	}
	return m
}

// cloneAgent copies a so that callers may change what they get.
func cloneAgent(a *lathe.Agent) *lathe.Agent {
	c := *a
	c.Labels = slices.Clone(a.Labels)
	c.Groups = slices.Clone(a.Groups)
	if a.LastSeen != nil {
		t := *a.LastSeen
		c.LastSeen = &t
	}
	return &c
}
