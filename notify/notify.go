// Package notify wakes the goroutines that wait for a change of the
// database: claim long-polls when jobs are queued, log and run followers
// when an attempt or a run changes.
//
// A Notifier carries messages of (topic, key). The writer publishes once its
// transaction has committed; a waiter takes its wait handle (Wait) before it
// checks the database and blocks on it afterwards, so a change committed
// between the check and the block is never missed. Only the message crosses
// between writer and waiter, never a pointer: an implementation over
// PostgreSQL's LISTEN/NOTIFY (a payload of topic and key, delivered to every
// server replica, each matching it against its own waiters) satisfies the
// same interface. Local is the in-process implementation, for one server.
//
// A wake-up says "look again", not what changed: waiters re-read the
// database, so a spurious wake-up costs a query and a lost one a stall until
// the waiter's own deadline.
package notify

import (
	"context"
	"slices"
	"strings"
)

// Topic names what changed.
type Topic string

const (
	// Work: jobs were queued, or what an agent may claim changed. The key
	// is the queued job's required labels (LabelsKey); "" (a job with no
	// labels, or a change of agents or semaphores) wakes every claimer.
	Work Topic = "work"
	// Attempt: an attempt's log grew or its status changed; the key is its ID.
	Attempt Topic = "attempt"
	// Run: a job of the run changed status; the key is the run's ID.
	Run Topic = "run"
	// Stop: the server wants a running attempt stopped (its cancel was
	// asked, or it was judged lost); the key is its ID. The attempt's agent
	// waits for it (see dispatch.Service.WaitStop).
	Stop Topic = "stop"
	// Outbox: commit statuses or webhook messages were queued to send
	// (no key).
	Outbox Topic = "outbox"
	// Agents: an agent or group changed: what a replica cached about
	// agents' credentials is stale. The key is the changed agent's ID, ""
	// for a change that may concern any agent (a group's). A notifier's
	// fallback does not wake it (the cache's own TTL bounds a lost message).
	Agents Topic = "agents"
)

// Message is one change: its topic and key.
type Message struct {
	Topic Topic
	Key   string
}

// Filter selects the messages a waiter wakes for.
type Filter struct {
	Topic Topic
	// Key wakes for messages with this exact key (Attempt, Run).
	Key string
	// Labels are a claimer's labels (Work): it wakes for messages whose key
	// names labels it has all of.
	Labels []string
	// All wakes for every message of the topic.
	All bool
}

// Notifier publishes changes and lets waiters wait for them.
type Notifier interface {
	// Publish wakes every waiter whose filter matches m. Call it after the
	// change m announces has committed.
	Publish(m Message)
	// Wait returns a channel closed by the first Publish matching f after
	// Wait returned. The wait is dropped when ctx ends; a wait on a context
	// that never ends stays until a message matches it.
	Wait(ctx context.Context, f Filter) <-chan struct{}
}

// labelSep separates labels in a Work key. Labels are names (no control
// characters), and a LISTEN/NOTIFY payload may carry a newline.
const labelSep = "\n"

// LabelsKey is the Work key of a job needing labels: sorted and
// de-duplicated, so equal sets make equal keys.
func LabelsKey(labels []string) string {
	if len(labels) == 0 {
		return ""
	}
	if len(labels) == 1 {
		return labels[0]
	}
	s := slices.Clone(labels)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), labelSep)
}

// Covers reports whether a claimer with labels have may run a job whose
// Work key is key.
func Covers(have []string, key string) bool {
	for key != "" {
		var want string
		want, key, _ = strings.Cut(key, labelSep)
		if !slices.Contains(have, want) {
			return false
		}
	}
	return true
}

// matches reports whether f wakes for m.
func (f Filter) matches(m Message) bool {
	switch {
	case f.Topic != m.Topic:
		return false
	case f.All:
		return true
	case f.Labels != nil:
		return Covers(f.Labels, m.Key)
	}
	return f.Key == m.Key
}
