package pipeline

import (
	"fmt"
	"strings"

	"slices"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/lathe-ci/lathe/pipeline/expr"
	"go.yaml.in/yaml/v3"
)

var whenKeys = []string{"branches", "events", "paths", "paths-ignore", "if"}

// When holds the conditions under which a job (or a whole pipeline) runs.
// Every condition given must hold; an absent one always does. Conditions
// are decided when the run is planned, from its Event and parameters, and a
// job whose conditions fail is left out of the plan, along with the jobs
// that need it.
type When struct {
	// Branches are globs the event's branch must match. An event without a
	// branch (a tag) matches none.
	Branches []string
	// Events are the kinds of event the job runs for.
	Events []string
	// Paths are globs at least one changed path must match.
	Paths []string
	// PathsIgnore are globs of paths whose changes alone do not run the
	// job: at least one changed path must match none of them.
	PathsIgnore []string
	// If is an expression that must be true.
	If *Condition
}

// Holds evaluates the conditions for an event; scope supplies the
// variables of the If expression. It returns "" when they hold, and
// otherwise the reason they do not, for plans to show.
func (wh *When) Holds(ev *Event, scope func() *expr.Scope) string {
	if wh == nil {
		return ""
	}
	if wh.Branches != nil && !matchAny(wh.Branches, ev.Branch) {
		if ev.Branch == "" {
			return fmt.Sprintf("when.branches: the %s event has no branch", ev.Kind)
		}
		return fmt.Sprintf("when.branches: branch %q matches none of %s", ev.Branch, strings.Join(wh.Branches, ", "))
	}
	if wh.Events != nil && !slices.Contains(wh.Events, ev.Kind) {
		return fmt.Sprintf("when.events: event %q is not one of %s", ev.Kind, strings.Join(wh.Events, ", "))
	}
	if wh.Paths != nil && ev.Changed != nil && !anyChanged(ev.Changed, wh.Paths) {
		return "when.paths: no changed file matches " + strings.Join(wh.Paths, ", ")
	}
	if wh.PathsIgnore != nil && ev.Changed != nil && !someNotIgnored(ev.Changed, wh.PathsIgnore) {
		return "when.paths-ignore: every changed file matches " + strings.Join(wh.PathsIgnore, ", ")
	}
	if wh.If != nil && !wh.If.True(scope()) {
		return fmt.Sprintf("if: %s is false", wh.If.Source)
	}
	return ""
}

// anyChanged reports whether a changed path matches any glob.
func anyChanged(changed, globs []string) bool {
	for _, c := range changed {
		if matchAny(globs, c) {
			return true
		}
	}
	return false
}

// someNotIgnored reports whether a changed path matches none of the globs.
func someNotIgnored(changed, globs []string) bool {
	for _, c := range changed {
		if !matchAny(globs, c) {
			return true
		}
	}
	return false
}

// when reads a `when:` map. Its `if` is checked later, with the scope.
func (w *walker) when(n *yaml.Node, path string) *When {
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a map with keys such as branches, events and paths, not %s", describe(n))
		return nil
	}
	wh := &When{}
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch e.key.Value {
		case "branches":
			wh.Branches = w.globList(e.value, field, "a branch glob")
		case "events":
			wh.Events = w.events(e.value, field)
		case "paths":
			wh.Paths = w.globList(e.value, field, "a path glob")
		case "paths-ignore":
			wh.PathsIgnore = w.globList(e.value, field, "a path glob")
		case "if":
			wh.If = w.condition(e.value, field)
		default:
			w.unknownKey(e.key, path, whenKeys)
		}
	}
	return wh
}

// globList reads one glob or a list of them, each a valid pattern. It
// returns a non-nil slice so an all-invalid list still counts as present.
func (w *walker) globList(n *yaml.Node, path, what string) []string {
	globs, nodes := w.globs(n, path, what)
	out := make([]string, 0, len(globs))
	for i, g := range globs {
		if !doublestar.ValidatePattern(g) {
			w.errorf(nodes[i], path, "%q is not a valid glob: check its brackets and braces", g)
			continue
		}
		out = append(out, g)
	}
	return out
}

// events reads a list of event kinds.
func (w *walker) events(n *yaml.Node, path string) []string {
	names, nodes := w.globs(n, path, "an event")
	out := make([]string, 0, len(names))
	for i, name := range names {
		if !slices.Contains(eventKinds, name) {
			w.errorf(nodes[i], path, "unknown event %q%s; events are %s", name, w.didYouMean(name, eventKinds), strings.Join(eventKinds, ", "))
			continue
		}
		out = append(out, name)
	}
	return out
}

// jobConditions folds a job-level `if:` into its When and checks the
// variables of the condition against the parameters and the job's matrix.
func (w *walker) jobConditions(s *jobSrc, ifCond *Condition) {
	if ifCond != nil {
		switch {
		case s.job.When == nil:
			s.job.When = &When{If: ifCond}
		case s.job.When.If != nil:
			w.errorf(ifCond.node, join(s.path, "if"), "the job also has when.if; write the condition once")
		default:
			s.job.When.If = ifCond
		}
	}
	if s.job.When == nil || s.job.When.If == nil {
		return
	}
	sc := condScope{params: w.declared, where: "in job " + s.job.Name}
	if s.job.Matrix != nil {
		sc.axes = make(map[string]bool)
		for _, k := range s.job.Matrix.Keys() {
			sc.axes[k] = true
		}
	}
	field := join(s.path, "if")
	if s.job.When.If != ifCond {
		field = join(s.path, "when.if")
	}
	w.checkCondition(s.job.When.If, field, sc)
}
