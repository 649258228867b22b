package notify

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
)

// Local is the Notifier of one process. Waiters with the same filter share
// one channel; a waiter whose context ends is forgotten, so idle filters
// cost nothing.
type Local struct {
	mu sync.Mutex
	// exact holds the waits for one key (Attempt, Run), by message.
	exact map[Message]*waiters
	// scanned holds the waits that a message is matched against one by one
	// (Work's labels, All), by topic and then by filter.
	scanned map[Topic]map[string]*waiters
	woken   atomic.Int64
	// work and agents are the Work and Agents messages published (see
	// WorkSince and AgentsSince); a wake of every waiter counts in each as
	// one with the key "", which wakes every claimer and concerns every agent.
	work, agents history
}

// waiters are the waits sharing one filter and channel.
type waiters struct {
	f  Filter
	ch chan struct{}
	n  int
	// stops are the waits' context.AfterFunc stops, by wait; a wait whose
	// context ended is deleted from it (a filter waited on without pause,
	// as an idle fleet's claims do, would otherwise keep every wait's
	// context for as long as no message matches).
	stops map[uint64]func() bool
	next  uint64
}

// NewLocal returns an in-process Notifier.
func NewLocal() *Local {
	return &Local{exact: map[Message]*waiters{}, scanned: map[Topic]map[string]*waiters{}}
}

// Woken counts the waits Publish has woken so far (tests count wake-ups
// with it instead of timing them).
func (l *Local) Woken() int64 { return l.woken.Load() }

// Wait implements Notifier.
func (l *Local) Wait(ctx context.Context, f Filter) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	var m map[string]*waiters
	var id string
	var w *waiters
	if f.All || f.Labels != nil {
		if m = l.scanned[f.Topic]; m == nil {
			m = map[string]*waiters{}
			l.scanned[f.Topic] = m
		}
		id = "*"
		if !f.All {
			f.Labels = splitKey(LabelsKey(f.Labels))
			id = "=" + LabelsKey(f.Labels)
		}
		w = m[id]
		if w == nil {
			w = &waiters{f: f, ch: make(chan struct{})}
			m[id] = w
		}
	} else {
		key := Message{f.Topic, f.Key}
		w = l.exact[key]
		if w == nil {
			w = &waiters{f: f, ch: make(chan struct{})}
			l.exact[key] = w
		}
	}
	w.n++
	if ctx.Done() != nil {
		if w.stops == nil {
			w.stops = map[uint64]func() bool{}
		}
		wait := w.next
		w.next++
		w.stops[wait] = context.AfterFunc(ctx, func() { l.drop(w, m, id, wait) })
	}
	return w.ch
}

// drop forgets one wait of w whose context ended, and w with its last wait.
func (l *Local) drop(w *waiters, m map[string]*waiters, id string, wait uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(w.stops, wait)
	w.n--
	if w.n > 0 {
		return
	}
	if m != nil {
		if m[id] == w {
			delete(m, id)
		}
	} else if key := (Message{w.f.Topic, w.f.Key}); l.exact[key] == w {
		delete(l.exact, key)
	}
}

// WorkMark returns a mark of the Work messages published so far, to ask
// WorkSince about later.
func (l *Local) WorkMark() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.work.n
}

// WorkSince reports whether a Work message that would wake a claimer with
// labels (or a wake of every waiter) may have been published since mark:
// true when one was, or when too many were to tell.
func (l *Local) WorkSince(mark uint64, labels []string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	covered := false
	told := l.work.since(mark, func(key string) bool {
		covered = Covers(labels, key)
		return !covered
	})
	return covered || !told
}

// AgentsSince returns a mark of the Agents messages published so far, and
// what those since mark (an earlier mark, 0 at first) changed: the keys
// they named (agents' IDs), or all when one named no agent, was a wake of
// every waiter (WakeAll), or when too many were published to tell. A cache
// of agents' credentials asks it before each read, with no wait of its own.
func (l *Local) AgentsSince(mark uint64) (now uint64, keys []string, all bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	told := l.agents.since(mark, func(key string) bool {
		all = key == ""
		keys = append(keys, key)
		return !all
	})
	if all || !told {
		return l.agents.n, nil, true
	}
	return l.agents.n, keys, false
}

// Publish implements Notifier.
func (l *Local) Publish(msg Message) {
	var fired []*waiters
	l.mu.Lock()
	switch msg.Topic {
	case Work:
		l.work.note(msg.Key)
	case Agents:
		l.agents.note(msg.Key)
	}
	if w, ok := l.exact[msg]; ok {
		delete(l.exact, msg)
		fired = append(fired, w)
	}
	for id, w := range l.scanned[msg.Topic] {
		if w.f.matches(msg) {
			delete(l.scanned[msg.Topic], id)
			fired = append(fired, w)
		}
	}
	stops := fire(fired, &l.woken)
	l.mu.Unlock()
	// The fired waits' contexts need not tell us when they end.
	for _, stop := range stops {
		stop()
	}
}

// fire closes the channels of fired, counts their waits in woken, and
// returns their stops, taken from them (a drop of a fired wait then finds
// none). Call it with l.mu held.
func fire(fired []*waiters, woken *atomic.Int64) []func() bool {
	var stops []func() bool
	for _, w := range fired {
		close(w.ch)
		woken.Add(int64(w.n))
		for _, stop := range w.stops {
			stops = append(stops, stop)
		}
		w.stops = nil
	}
	return stops
}

func splitKey(key string) []string {
	out := []string{}
	for key != "" {
		var label string
		label, key, _ = strings.Cut(key, labelSep)
		out = append(out, label)
	}
	return out
}

// Pending counts the waits not yet woken nor dropped (a wait whose context
// ended is dropped soon after, not at once).
func (l *Local) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, w := range l.exact {
		n += w.n
	}
	for _, m := range l.scanned {
		for _, w := range m {
			n += w.n
		}
	}
	return n
}

// WakeAll wakes every wait, whatever its filter (a message may have been
// missed: each waiter looks again).
func (l *Local) WakeAll() { l.wakeTopics(func(Topic) bool { return true }) }

// wakeTopics wakes every wait on a topic that wake accepts.
func (l *Local) wakeTopics(wake func(Topic) bool) {
	var fired []*waiters
	l.mu.Lock()
	if wake(Work) {
		l.work.note("")
	}
	if wake(Agents) {
		l.agents.note("")
	}
	for key, w := range l.exact {
		if wake(key.Topic) {
			delete(l.exact, key)
			fired = append(fired, w)
		}
	}
	for topic, m := range l.scanned {
		if !wake(topic) {
			continue
		}
		for id, w := range m {
			delete(m, id)
			fired = append(fired, w)
		}
	}
	stops := fire(fired, &l.woken)
	l.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
}
