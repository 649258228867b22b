package pipeline

import (
	"slices"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/lathe-ci/lathe/pipeline/expr"
)

// The kinds of event that start runs.
const (
	EventPush        = "push"
	EventPullRequest = "pull_request"
	EventTag         = "tag"
	EventSchedule    = "schedule"
	EventManual      = "manual"
	EventWebhook     = "webhook"
	EventPipeline    = "pipeline"
)

// eventKinds lists every kind, in the order messages give them.
var eventKinds = []string{EventPush, EventPullRequest, EventTag, EventSchedule, EventManual, EventWebhook, EventPipeline}

// EventKinds lists every kind of event, for callers that check a name
// given elsewhere (a protected secret's events).
func EventKinds() []string { return slices.Clone(eventKinds) }

// Event is what happened to start a run, as far as conditions and
// triggers care. The caller fills it; the package never looks anything up.
type Event struct {
	// Kind is one of the Event* constants.
	Kind string
	// Branch is the branch pushed to, or for a pull request the branch it
	// targets; empty for a tag.
	Branch string
	// Tag is the tag pushed, for EventTag.
	Tag string
	// Ref is the full ref (refs/heads/main) and Commit the commit ID.
	Ref, Commit string
	// Changed lists the paths the event changed (against the previous
	// successful run or the merge base). Nil means unknown, which makes
	// every path condition true: in doubt, a job runs.
	Changed []string
	// Upstream is the pipeline whose success started this run, for
	// EventPipeline.
	Upstream string
}

// scope is what conditions read for an event, with extra variables (params,
// matrix, env) looked up by more.
func (ev *Event) scope(pipeline string, more func(string) (expr.Value, bool)) *expr.Scope {
	return &expr.Scope{
		Changed: ev.Changed,
		Lookup: func(name string) (expr.Value, bool) {
			switch name {
			case "branch":
				return expr.String(ev.Branch), true
			case "tag":
				return expr.String(ev.Tag), true
			case "ref":
				return expr.String(ev.Ref), true
			case "commit":
				return expr.String(ev.Commit), true
			case "event":
				return expr.String(ev.Kind), true
			case "pipeline":
				return expr.String(pipeline), true
			case "upstream":
				return expr.String(ev.Upstream), true
			}
			if more != nil {
				return more(name)
			}
			return expr.Value{}, false
		},
	}
}

// matchAny reports whether s matches any of the globs.
func matchAny(globs []string, s string) bool {
	for _, g := range globs {
		if ok, _ := doublestar.Match(g, s); ok {
			return true
		}
	}
	return false
}
