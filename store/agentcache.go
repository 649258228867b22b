package store

import (
	"context"
	"slices"
	"strconv"
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
// A change of an agent (disable, unauthorize, delete, a new credential,
// labels, host) drops that agent's entries at once, and a change of a
// group (membership) empties the cache; the server tells the other
// replicas (notify.Agents, keyed by the agent's ID or "" for all), whose
// caches do the same when they hear it. A change made through another
// replica whose message is lost takes effect here within the TTL. What is cached never
// widens what an agent may do past that window: a claim re-reads the agent
// inside its transaction (agentMayClaim), and reports are fenced by the
// attempt's agent.
const AgentCredentialTTL = time.Minute

// unheardCredentialTTL is the TTL under a notifier that cannot tell the
// cache of other replicas' changes (see agentsCounter).
const unheardCredentialTTL = 2 * time.Second

// agentCache maps credential hashes to the agent they authenticated.
type agentCache struct {
	mu sync.Mutex
	// gen counts the times the cache was emptied: a read of the database
	// that began before one is not stored after it.
	gen uint64
	m   map[string]cachedAgent
	// heard is the notifier's mark of the changes of agents
	// (notify.Agents) the cache has taken in; listening says it was taken.
	heard     uint64
	listening bool
}

// agentsCounter is a notifier that tells the changes of agents it carried
// (notify.Local and notify.Postgres do).
type agentsCounter interface {
	AgentsSince(mark uint64) (now uint64, keys []string, all bool)
}

// listen takes in the changes of agents the notifier carried since it last
// listened: the changed agents' entries are dropped, or every entry when
// a change may concern any agent. Call it with c.mu held.
func (c *agentCache) listen(n notify.Notifier) {
	ac, ok := n.(agentsCounter)
	if !ok {
		return
	}
	heard, keys, all := ac.AgentsSince(c.heard)
	switch {
	case !c.listening || all:
		c.gen++
		c.m = nil
	case len(keys) > 0:
		if ids, ok := agentIDs(keys); ok {
			c.drop(ids)
		} else { // not agents' IDs: trust nothing
			c.gen++
			c.m = nil
		}
	}
	c.heard, c.listening = heard, true
}

// agentIDs parses the keys of Agents messages; ok is false if one is not
// an agent's ID.
func agentIDs(keys []string) (ids []int64, ok bool) {
	for _, k := range keys {
		id, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

// drop forgets the entries of the agents ids. A read of the database that
// began before is not stored after. Call it with c.mu held.
func (c *agentCache) drop(ids []int64) {
	c.gen++
	for k, e := range c.m {
		if slices.Contains(ids, e.a.ID) {
			delete(c.m, k)
		}
	}
}

// deafen forgets everything cached and what was heard (the notifier changes).
func (c *agentCache) deafen() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m, c.heard, c.listening = nil, 0, false
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
		ttl := AgentCredentialTTL
		if _, ok := s.notifier.(agentsCounter); !ok {
			ttl = unheardCredentialTTL
		}
		c.m[tokenHash] = cachedAgent{a: *cloneAgent(a), expires: now.Add(ttl)}
	}
	c.mu.Unlock()
	return a, nil
}

// forgetAgents empties the credential cache and tells the other replicas
// to empty theirs: a group changed, or agents whatever their number.
func (s *Store) forgetAgents() {
	c := &s.agents
	c.mu.Lock()
	c.gen++
	c.m = nil
	c.mu.Unlock()
	s.notifier.Publish(notify.Message{Topic: notify.Agents})
}

// forgetAgent drops what the credential cache holds of the agents ids
// and tells the other replicas to drop theirs: those agents changed. Past
// a few agents it empties the caches instead (one message, one pass).
func (s *Store) forgetAgent(ids ...int64) {
	if len(ids) > forgetOneByOne {
		s.forgetAgents()
		return
	}
	c := &s.agents
	c.mu.Lock()
	c.drop(ids)
	c.mu.Unlock()
	for _, id := range ids {
		s.notifier.Publish(notify.Message{Topic: notify.Agents, Key: strconv.FormatInt(id, 10)})
	}
}

// forgetOneByOne is how many agents' changes forgetAgent tells one by one.
const forgetOneByOne = 16

// agentsChanged runs after a change to agents or groups commits: it
// empties the credential cache, then wakes the waiting claims, which read
// the agent again.
func agentsChanged(s *Store) {
	s.forgetAgents()
	wakeClaimers(s)
}

// agentChanged is agentsChanged after a change of the agents ids alone.
func agentChanged(ids ...int64) func(*Store) {
	return func(s *Store) {
		s.forgetAgent(ids...)
		wakeClaimers(s)
	}
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
