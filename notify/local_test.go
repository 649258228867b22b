package notify

import (
	"context"
	"slices"
	"testing"
	"time"
)

func fired(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestLocalMatchesByKeyAndLabels(t *testing.T) {
	n := NewLocal()
	ctx := t.Context()
	run7 := n.Wait(ctx, Filter{Topic: Run, Key: "7"})
	run8 := n.Wait(ctx, Filter{Topic: Run, Key: "8"})
	linux := n.Wait(ctx, Filter{Topic: Work, Labels: []string{"linux", "amd64"}})
	linux2 := n.Wait(ctx, Filter{Topic: Work, Labels: []string{"amd64", "linux"}})
	mac := n.Wait(ctx, Filter{Topic: Work, Labels: []string{"macos"}})
	all := n.Wait(ctx, Filter{Topic: Work, All: true})

	n.Publish(Message{Topic: Run, Key: "7"})
	if !fired(run7) || fired(run8) || fired(linux) {
		t.Fatalf("run 7 published: run7 %v run8 %v linux %v", fired(run7), fired(run8), fired(linux))
	}
	n.Publish(Message{Topic: Work, Key: LabelsKey([]string{"linux", "amd64", "linux"})})
	if !fired(linux) || !fired(linux2) || fired(mac) || !fired(all) {
		t.Fatalf("linux job: linux %v linux2 %v mac %v all %v", fired(linux), fired(linux2), fired(mac), fired(all))
	}
	if got := n.Woken(); got != 4 {
		t.Errorf("woken %d, want 4 (run 7, two linux claims, the all wait)", got)
	}
	n.Publish(Message{Topic: Work})
	if !fired(mac) {
		t.Error("a job with no labels did not wake the macos claim")
	}
	// A wait taken after a publish is not woken by it.
	late := n.Wait(ctx, Filter{Topic: Run, Key: "7"})
	if fired(late) {
		t.Error("a wait taken after the publish was woken by it")
	}
}

func TestLocalForgetsWaitsWhoseContextEnded(t *testing.T) {
	n := NewLocal()
	ctx, cancel := context.WithCancel(t.Context())
	n.Wait(ctx, Filter{Topic: Work, Labels: []string{"linux"}})
	n.Wait(ctx, Filter{Topic: Run, Key: "1"})
	keep := n.Wait(t.Context(), Filter{Topic: Work, Labels: []string{"linux"}})
	cancel()
	// The drop runs in its own goroutine once ctx ends.
	for deadline := time.Now().Add(5 * time.Second); n.Pending() > 1; {
		if time.Now().After(deadline) {
			t.Fatalf("%d waits kept after their context ended, want 1", n.Pending())
		}
		time.Sleep(time.Millisecond)
	}
	n.Publish(Message{Topic: Work, Key: "linux"})
	if !fired(keep) || n.Woken() != 1 {
		t.Errorf("the live wait: fired %v, woken %d; want fired, 1", fired(keep), n.Woken())
	}
}

func TestCovers(t *testing.T) {
	for _, c := range []struct {
		have []string
		key  string
		want bool
	}{
		{nil, "", true},
		{[]string{"a"}, "", true},
		{[]string{"a", "b"}, LabelsKey([]string{"b", "a"}), true},
		{[]string{"a"}, LabelsKey([]string{"b", "a"}), false},
		{[]string{"group:x"}, "group:x", true},
	} {
		if got := Covers(c.have, c.key); got != c.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", c.have, c.key, got, c.want)
		}
	}
}

// WorkSince tells whether a Work message a claimer with some labels would
// wake for came since a mark; a wake of every waiter counts, and so does
// more history than it keeps. AgentsSince names the agents changed since a
// mark, or says all may have.
func TestLocalWorkSinceAndAgentsSince(t *testing.T) {
	n := NewLocal()
	linux := []string{"linux", "amd64"}
	mark := n.WorkMark()
	if n.WorkSince(mark, linux) {
		t.Fatal("work since a mark with nothing published")
	}
	n.Publish(Message{Topic: Work, Key: "macos"})
	n.Publish(Message{Topic: Run, Key: "7"})
	if n.WorkSince(mark, linux) {
		t.Fatal("a macos job and a run counted as linux work")
	}
	n.Publish(Message{Topic: Work, Key: LabelsKey([]string{"linux", "gpu"})})
	if n.WorkSince(mark, linux) {
		t.Fatal("a job needing gpu counted as work for linux, amd64")
	}
	n.Publish(Message{Topic: Work, Key: "linux"})
	if !n.WorkSince(mark, linux) {
		t.Fatal("a linux job not counted")
	}
	mark = n.WorkMark()
	n.WakeAll()
	if !n.WorkSince(mark, linux) {
		t.Fatal("a wake of every waiter not counted")
	}
	mark = n.WorkMark()
	for range historyLen + 1 {
		n.Publish(Message{Topic: Work, Key: "macos"})
	}
	if !n.WorkSince(mark, linux) {
		t.Fatal("more messages than the history holds, yet WorkSince answered no")
	}

	before, _, _ := n.AgentsSince(0) // the wake of all above counted
	if _, keys, all := n.AgentsSince(before); keys != nil || all {
		t.Fatalf("agents changed with no Agents message: %v %v", keys, all)
	}
	n.Publish(Message{Topic: Work})
	n.Publish(Message{Topic: Agents, Key: "7"})
	n.Publish(Message{Topic: Agents, Key: "9"})
	mark, keys, all := n.AgentsSince(before)
	if all || !slices.Equal(keys, []string{"7", "9"}) || mark != before+2 {
		t.Fatalf("since %d: %d %v %v, want agents 7 and 9 (the Work message not counted)", before, mark, keys, all)
	}
	if _, keys, all := n.AgentsSince(mark); keys != nil || all {
		t.Fatalf("nothing since the last mark, yet %v %v", keys, all)
	}
	n.Publish(Message{Topic: Agents})
	if _, _, all := n.AgentsSince(mark); !all {
		t.Fatal("an Agents message naming no agent did not concern all")
	}
	mark, _, _ = n.AgentsSince(0)
	n.WakeAll()
	if _, _, all := n.AgentsSince(mark); !all {
		t.Fatal("a wake of every waiter did not concern all agents")
	}
	mark, _, _ = n.AgentsSince(0)
	for range historyLen + 1 {
		n.Publish(Message{Topic: Agents, Key: "7"})
	}
	if _, _, all := n.AgentsSince(mark); !all {
		t.Fatal("more Agents messages than the history holds, yet not all")
	}
}

// A filter waited on without pause, each wait's context ending before the
// next (an idle fleet's claims), keeps nothing of the waits that ended.
func TestLocalForgetsEndedWaitsOfALiveFilter(t *testing.T) {
	n := NewLocal()
	linux := Filter{Topic: Work, Labels: []string{"linux"}}
	keep, stop := context.WithCancel(t.Context())
	defer stop()
	n.Wait(keep, linux) // holds the filter's waiters
	for range 100 {
		ctx, cancel := context.WithCancel(t.Context())
		n.Wait(ctx, linux)
		cancel()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n.mu.Lock()
		w := n.scanned[Work]["="+LabelsKey(linux.Labels)]
		waits, stops := w.n, len(w.stops)
		n.mu.Unlock()
		if waits == 1 && stops == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 100 ended waits: %d waits, %d stops kept; want 1 and 1", waits, stops)
		}
		time.Sleep(time.Millisecond)
	}
}
