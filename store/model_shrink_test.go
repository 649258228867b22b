package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Shrinking: a failing case is made smaller while it still breaks the same
// invariant: first fewer events, then a simpler pipeline (fewer jobs, fewer
// needs, no matrix, no retry, no gates…). Each try replays the case on a
// store of its own, so the result does not depend on what ran before.

// Bounds of one shrink: it stops at whichever comes first.
const (
	maxShrinkTries = 2000
	maxShrinkTime  = 60 * time.Second
)

func shrink(ctx context.Context, fresh func() *modelEnv, c modelCase, invariant string) modelCase {
	tries, deadline := 0, time.Now().Add(maxShrinkTime)
	fails := func(cand modelCase) bool {
		if tries >= maxShrinkTries || time.Now().After(deadline) {
			return false
		}
		tries++
		out, err := fresh().play(ctx, cand)
		return err == nil && out.violation != nil && out.violation.invariant == invariant
	}
	for progress := true; progress; {
		progress = false
		// Drop runs of events, halving their length down to one.
		for size := len(c.Events) / 2; size >= 1; size /= 2 {
			for at := 0; at+size <= len(c.Events); {
				cand := c
				cand.Events = slices.Concat(c.Events[:at], c.Events[at+size:])
				if fails(cand) {
					c, progress = cand, true
				} else {
					at += size
				}
			}
		}
		// Tame wild events.
		for i, ev := range c.Events {
			if ev.Wild {
				cand := c
				cand.Events = slices.Clone(c.Events)
				cand.Events[i].Wild = false
				if fails(cand) {
					c, progress = cand, true
				}
			}
		}
		for _, cand := range simplerPipelines(c.Pipeline) {
			next := c
			next.Pipeline = cand
			if fails(next) {
				c, progress = next, true
				break // the candidates were made from the old pipeline
			}
		}
	}
	return c
}

// simplerPipelines are p with one thing less each: a job, a need, or one of
// a job's features.
func simplerPipelines(p modelPipeline) []modelPipeline {
	var out []modelPipeline
	edit := func(f func(q *modelPipeline)) {
		q := modelPipeline{Untrusted: p.Untrusted, Jobs: make([]modelJob, len(p.Jobs))}
		for i, j := range p.Jobs {
			j.Needs, j.RetryOn = slices.Clone(j.Needs), slices.Clone(j.RetryOn)
			q.Jobs[i] = j
		}
		f(&q)
		out = append(out, q)
	}
	for i := range p.Jobs {
		if len(p.Jobs) > 1 {
			edit(func(q *modelPipeline) { q.removeJob(i) })
		}
	}
	for i, j := range p.Jobs {
		for k := range j.Needs {
			edit(func(q *modelPipeline) { q.Jobs[i].Needs = slices.Delete(q.Jobs[i].Needs, k, k+1) })
		}
		if j.Matrix > 0 {
			edit(func(q *modelPipeline) { q.Jobs[i].Matrix = 0 })
		}
		if j.Retry > 0 {
			edit(func(q *modelPipeline) { q.Jobs[i].Retry, q.Jobs[i].RetryOn = 0, nil })
		}
		if j.Approval > 0 {
			edit(func(q *modelPipeline) { q.Jobs[i].Approval = 0 })
		}
		if j.AllowFailure {
			edit(func(q *modelPipeline) { q.Jobs[i].AllowFailure = false })
		}
		if j.Group != "" {
			edit(func(q *modelPipeline) { q.Jobs[i].Group, q.Jobs[i].Limit = "", 0 })
		}
		if j.Secret {
			edit(func(q *modelPipeline) { q.Jobs[i].Secret = false })
		}
		if j.GPU {
			edit(func(q *modelPipeline) { q.Jobs[i].GPU = false })
		}
	}
	if p.Untrusted {
		edit(func(q *modelPipeline) { q.Untrusted = false })
	}
	return out
}

// removeJob deletes job i and renumbers the needs of the jobs after it.
func (p *modelPipeline) removeJob(i int) {
	p.Jobs = slices.Delete(p.Jobs, i, i+1)
	for k := range p.Jobs {
		var needs []int
		for _, n := range p.Jobs[k].Needs {
			switch {
			case n < i:
				needs = append(needs, n)
			case n > i:
				needs = append(needs, n-1)
			}
		}
		p.Jobs[k].Needs = needs
	}
}

// goLiteral writes the case as Go, to paste into a regression test.
func (c modelCase) goLiteral() string {
	var b strings.Builder
	fmt.Fprintf(&b, "modelCase{Seed: %d, Pipeline: %#v, Events: []modelEvent{", c.Seed, c.Pipeline)
	for i, ev := range c.Events {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "{Kind: ev%s, Pick: %d, Wild: %v, Arg: %d}", goEventName(ev.Kind), ev.Pick, ev.Wild, ev.Arg)
	}
	b.WriteString("}}")
	return b.String()
}

// goEventName is the Go constant's name of k without its ev prefix.
func goEventName(k eventKind) string {
	var b strings.Builder
	up := true
	for _, r := range k.String() {
		switch {
		case r == '-':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
