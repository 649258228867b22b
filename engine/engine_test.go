package engine

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	lathe "github.com/lathe-ci/lathe"
)

const (
	pending  = lathe.StatusPending
	queued   = lathe.StatusQueued
	running  = lathe.StatusRunning
	success  = lathe.StatusSuccess
	failed   = lathe.StatusFailed
	canceled = lathe.StatusCanceled
	skipped  = lathe.StatusSkipped
)

func TestAdvance(t *testing.T) {
	// a ← b ← c, and d independent; e needs a and d.
	graph := func(a, b, c, d, e lathe.Status) []Node {
		return []Node{
			{ID: 1, Name: "a", Status: a},
			{ID: 2, Name: "b", Status: b, Deps: []string{"a"}},
			{ID: 3, Name: "c", Status: c, Deps: []string{"b"}},
			{ID: 4, Name: "d", Status: d},
			{ID: 5, Name: "e", Status: e, Deps: []string{"a", "d"}},
		}
	}
	tests := []struct {
		name     string
		nodes    []Node
		canceled bool
		want     map[int64]lathe.Status
	}{
		{"new run queues jobs without deps", graph(pending, pending, pending, pending, pending), false,
			map[int64]lathe.Status{1: queued, 4: queued}},
		{"success releases direct dependents only", graph(success, pending, pending, running, pending), false,
			map[int64]lathe.Status{2: queued}},
		{"a job waits for all its deps", graph(success, running, pending, success, pending), false,
			map[int64]lathe.Status{5: queued}},
		{"failure skips dependents transitively", graph(failed, pending, pending, success, pending), false,
			map[int64]lathe.Status{2: skipped, 3: skipped, 5: skipped}},
		{"cancel of a dep skips dependents", graph(canceled, pending, pending, running, pending), false,
			map[int64]lathe.Status{2: skipped, 3: skipped, 5: skipped}},
		{"nothing to do", graph(running, pending, pending, running, pending), false,
			map[int64]lathe.Status{}},
		{"run cancel cancels unstarted jobs, leaves running ones", graph(running, pending, pending, queued, pending), true,
			map[int64]lathe.Status{2: canceled, 3: canceled, 4: canceled, 5: canceled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Advance(tt.nodes, tt.canceled)
			if !maps.Equal(got, tt.want) {
				t.Errorf("Advance = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRollup(t *testing.T) {
	tests := []struct {
		in   []lathe.Status
		want lathe.Status
	}{
		{nil, success},
		{[]lathe.Status{pending, pending}, pending},
		{[]lathe.Status{queued, pending}, queued},
		{[]lathe.Status{running, pending}, running},
		{[]lathe.Status{success, pending}, running},
		{[]lathe.Status{success, success}, success},
		{[]lathe.Status{success, skipped}, success},
		{[]lathe.Status{skipped, skipped}, skipped},
		{[]lathe.Status{success, failed, skipped}, failed},
		{[]lathe.Status{canceled, success}, canceled},
		{[]lathe.Status{canceled, failed}, failed},
		{[]lathe.Status{lathe.StatusTimedOut, success}, failed},
		{[]lathe.Status{lathe.StatusLost, success}, failed},
		{[]lathe.Status{lathe.StatusWaiting, pending}, lathe.StatusWaiting},
	}
	for _, tt := range tests {
		if got := Rollup(tt.in); got != tt.want {
			t.Errorf("Rollup(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// Every status change the engine makes is one the state machine allows.
func TestAdvanceOnlyMakesAllowedTransitions(t *testing.T) {
	all := lathe.Statuses
	for _, a := range all {
		for _, b := range all {
			nodes := []Node{{ID: 1, Name: "a", Status: a}, {ID: 2, Name: "b", Status: b, Deps: []string{"a"}}}
			for _, cancel := range []bool{false, true} {
				for id, to := range Advance(nodes, cancel) {
					if from := nodes[id-1].Status; !CanTransition(Job, from, to) {
						t.Errorf("a=%s b=%s cancel=%v: job %d %s → %s is not allowed", a, b, cancel, id, from, to)
					}
				}
			}
		}
	}
}

// A failure the job is allowed releases its dependents and counts as a
// success in the rollup; a gated job waits for approval once its needs are
// met, and a cancel ends the wait.
func TestAllowFailureAndGates(t *testing.T) {
	nodes := []Node{
		{ID: 1, Name: "flaky", Status: failed, AllowFailure: true},
		{ID: 2, Name: "after", Status: pending, Deps: []string{"flaky"}},
		{ID: 3, Name: "deploy", Status: pending, Deps: []string{"flaky"}, Gated: true},
		{ID: 4, Name: "strict", Status: lathe.StatusCanceled, AllowFailure: true},
		{ID: 5, Name: "behind-strict", Status: pending, Deps: []string{"strict"}},
	}
	want := map[int64]lathe.Status{2: queued, 3: lathe.StatusWaiting, 5: skipped}
	if got := Advance(nodes, false); !maps.Equal(got, want) {
		t.Errorf("Advance = %v; want %v", got, want)
	}
	if got := nodes[0].Outcome(); got != success {
		t.Errorf("allowed failure counts as %s; want success", got)
	}
	if got := nodes[3].Outcome(); got != canceled {
		t.Errorf("allowed failure covers cancel: %s", got)
	}
	waiting := []Node{{ID: 1, Name: "deploy", Status: lathe.StatusWaiting, Gated: true}}
	if got := Advance(waiting, true); got[1] != canceled {
		t.Errorf("cancel of a waiting job = %v; want canceled", got)
	}
	if got := Advance(waiting, false); len(got) != 0 {
		t.Errorf("a waiting job changed on its own: %v", got)
	}
}

// A failure skips every job that depends on it, directly or not, whatever
// the order the jobs are given in: the cascade runs to a fixed point rather
// than trusting the order to be topological. A chain given in reverse needs
// one pass per job; shuffles mix a chain with a diamond and a bystander.
func TestSkipCascadeReachesEveryDependentInAnyOrder(t *testing.T) {
	const chain = 12
	var nodes []Node
	for i := range chain {
		n := Node{ID: int64(i + 1), Name: fmt.Sprintf("c%d", i), Status: pending}
		if i == 0 {
			n.Status = failed
		} else {
			n.Deps = []string{fmt.Sprintf("c%d", i-1)}
		}
		nodes = append(nodes, n)
	}
	nodes = append(nodes,
		Node{ID: 101, Name: "left", Status: pending, Deps: []string{"c3"}},
		Node{ID: 102, Name: "right", Status: pending, Deps: []string{"c5"}},
		Node{ID: 103, Name: "join", Status: pending, Deps: []string{"left", "right"}},
		Node{ID: 104, Name: "after-join", Status: pending, Deps: []string{"join"}, Gated: true},
		Node{ID: 105, Name: "bystander", Status: running},
		Node{ID: 106, Name: "after-bystander", Status: pending, Deps: []string{"bystander"}},
	)
	want := map[int64]lathe.Status{101: skipped, 102: skipped, 103: skipped, 104: skipped}
	for i := 2; i <= chain; i++ {
		want[int64(i)] = skipped
	}

	orders := map[string][]Node{"given": nodes, "reversed": slices.Clone(nodes)}
	slices.Reverse(orders["reversed"])
	rng := rand.New(rand.NewPCG(42, 7))
	for i := range 20 {
		shuffled := slices.Clone(nodes)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		orders[fmt.Sprintf("shuffle %d", i)] = shuffled
	}
	for name, order := range orders {
		if got := Advance(order, false); !maps.Equal(got, want) {
			t.Errorf("%s order: Advance = %v; want %v", name, got, want)
		}
	}
}
