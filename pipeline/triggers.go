package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

var (
	triggerKeys  = []string{EventPush, EventPullRequest, EventSchedule, EventManual, EventWebhook, EventPipeline}
	pushKeys     = []string{"branches", "tags"}
	prKeys       = []string{"branches"}
	scheduleKeys = []string{"cron", "branch"}
	upstreamKeys = []string{"after"}
	// cronParser reads standard five-field cron lines and @daily-style
	// descriptors, with an optional CRON_TZ= prefix. robfig/cron is the
	// parser most Go schedulers use; writing our own would only add bugs.
	cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
)

// Triggers says which events start runs of a pipeline: the top-level `on:`
// key. A file without one runs on pushes (of branches and tags), pull
// requests and manual requests.
type Triggers struct {
	// Push is set when pushes start runs.
	Push *PushTrigger
	// PullRequest is set when pull requests start runs.
	PullRequest *PullRequestTrigger
	// Schedules are the cron schedules that start runs.
	Schedules []Schedule
	// Manual allows runs started by a person (UI, API, CLI).
	Manual bool
	// Webhook allows runs started by the project's token webhook.
	Webhook bool
	// After names the pipelines whose success on a commit starts this one
	// on the same commit.
	After []string
	// afterLine is where After is written, for warnings.
	afterLine int
}

// PushTrigger filters pushes. With neither list every push matches; with
// only Branches tag pushes do not, and with only Tags branch pushes do not.
type PushTrigger struct {
	Branches []string
	Tags     []string
}

// PullRequestTrigger filters pull requests by the branch they target; no
// Branches means every pull request.
type PullRequestTrigger struct {
	Branches []string
}

// Schedule is one cron schedule.
type Schedule struct {
	// Cron is the line as written, such as "0 3 * * *" or "@daily".
	Cron string
	// Branch is the branch to run; empty means the project's default.
	Branch string
	sched  cron.Schedule
}

// Next returns the first time after t the schedule fires.
func (s *Schedule) Next(t time.Time) time.Time { return s.sched.Next(t) }

// ParseCron reads a cron line as `schedule: cron:` takes it (five fields
// or a descriptor such as @daily, with an optional CRON_TZ= prefix), for
// the server, which keeps schedules by their line.
func ParseCron(line string) (*Schedule, error) {
	sched, err := cronParser.Parse(line)
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w", line, err)
	}
	return &Schedule{Cron: line, sched: sched}, nil
}

// defaultTriggers are the triggers of a file without `on:`.
func defaultTriggers() *Triggers {
	return &Triggers{Push: &PushTrigger{}, PullRequest: &PullRequestTrigger{}, Manual: true}
}

// Matches reports whether the event starts a run of the pipeline. For a
// schedule it says only that the pipeline has schedules; the scheduler
// knows which one fired.
func (t *Triggers) Matches(ev Event) bool {
	if t == nil {
		t = defaultTriggers()
	}
	switch ev.Kind {
	case EventPush:
		return t.Push != nil && (t.Push.Branches == nil && t.Push.Tags == nil || t.Push.Branches != nil && matchAny(t.Push.Branches, ev.Branch))
	case EventTag:
		return t.Push != nil && (t.Push.Branches == nil && t.Push.Tags == nil || t.Push.Tags != nil && matchAny(t.Push.Tags, ev.Tag))
	case EventPullRequest:
		return t.PullRequest != nil && (t.PullRequest.Branches == nil || matchAny(t.PullRequest.Branches, ev.Branch))
	case EventSchedule:
		return len(t.Schedules) > 0
	case EventManual:
		return t.Manual
	case EventWebhook:
		return t.Webhook
	case EventPipeline:
		return slices.Contains(t.After, ev.Upstream)
	}
	return false
}

// enables reports whether some event of the kind can start a run, for the
// linter's "job can never run".
func (t *Triggers) enables(kind string) bool {
	switch kind {
	case EventPush:
		return t.Push != nil && (t.Push.Tags == nil || t.Push.Branches != nil)
	case EventTag:
		return t.Push != nil && (t.Push.Branches == nil || t.Push.Tags != nil)
	case EventPullRequest:
		return t.PullRequest != nil
	case EventSchedule:
		return len(t.Schedules) > 0
	case EventManual:
		return t.Manual
	case EventWebhook:
		return t.Webhook
	case EventPipeline:
		return len(t.After) > 0
	}
	return false
}

// triggers reads `on:`: a map of event kinds to their settings, or a list
// of kinds that need none.
func (w *walker) triggers(n *yaml.Node, path string, self string) *Triggers {
	t := &Triggers{}
	if n.Kind == yaml.SequenceNode {
		for _, item := range w.items(n) {
			switch {
			case !isScalar(item):
				w.errorf(item, path, "must be an event name, not %s", describe(item))
			case item.Value == EventSchedule || item.Value == EventPipeline:
				w.errorf(item, path, "%s needs settings; write `on:` as a map, as in `%s`", item.Value, triggerExample(item.Value))
			case !slices.Contains(triggerKeys, item.Value):
				w.unknownTrigger(item, path)
			default:
				w.trigger(t, item.Value, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: item.Line, Column: item.Column}, path, self)
			}
		}
		return t
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a map of events (push, pull_request, schedule, manual, webhook, pipeline), not %s", describe(n))
		return defaultTriggers()
	}
	for _, e := range w.entries(n, path) {
		if !slices.Contains(triggerKeys, e.key.Value) {
			w.unknownTrigger(e.key, path)
			continue
		}
		w.trigger(t, e.key.Value, e.value, join(path, e.key.Value), self)
	}
	return t
}

// unknownTrigger reports an event name `on:` does not know, pointing tag
// pushes to push.tags.
func (w *walker) unknownTrigger(k *yaml.Node, path string) {
	if k.Value == EventTag {
		w.errorf(k, join(path, k.Value), "tags are pushes: write `push: {tags: [\"v*\"]}`")
		return
	}
	w.unknownKey(k, path, triggerKeys)
}

func triggerExample(kind string) string {
	if kind == EventSchedule {
		return `schedule: [{cron: "0 3 * * *"}]`
	}
	return "pipeline: {after: [build]}"
}

// trigger reads the settings of one event kind into t.
func (w *walker) trigger(t *Triggers, kind string, n *yaml.Node, path, self string) {
	settings := func(known []string) []entry {
		switch {
		case isNull(n):
			return nil
		case len(known) == 0 && (n.Kind != yaml.MappingNode || len(n.Content) > 0):
			// manual and webhook take no settings: `manual: false` does
			// not turn manual runs off, leaving manual out of on: does.
			w.errorf(n, path, "takes no settings: write `%s: {}`, or leave %s out of on: for no %s runs", kind, kind, kind)
			return nil
		case n.Kind != yaml.MappingNode:
			w.errorf(n, path, "must be a map with keys %s, or empty, not %s", strings.Join(known, ", "), describe(n))
			return nil
		}
		entries := w.entries(n, path)
		for _, e := range entries {
			if !slices.Contains(known, e.key.Value) {
				w.unknownKey(e.key, path, known)
			}
		}
		return entries
	}
	switch kind {
	case EventPush:
		t.Push = &PushTrigger{}
		for _, e := range settings(pushKeys) {
			switch e.key.Value {
			case "branches":
				t.Push.Branches = w.globList(e.value, join(path, "branches"), "a branch glob")
			case "tags":
				t.Push.Tags = w.globList(e.value, join(path, "tags"), "a tag glob")
			}
		}
	case EventPullRequest:
		t.PullRequest = &PullRequestTrigger{}
		for _, e := range settings(prKeys) {
			t.PullRequest.Branches = w.globList(e.value, join(path, "branches"), "a branch glob")
		}
	case EventManual:
		t.Manual = true
		settings(nil)
	case EventWebhook:
		t.Webhook = true
		settings(nil)
	case EventSchedule:
		t.Schedules = w.schedules(n, path)
	case EventPipeline:
		var after *yaml.Node
		for _, e := range settings(upstreamKeys) {
			after = e.value
		}
		if after == nil {
			w.errorf(n, join(path, "after"), "missing; name the pipelines whose success starts this one, as in `after: [build]`")
			return
		}
		t.afterLine = after.Line
		names, nodes := w.names(after, join(path, "after"), "a pipeline name")
		for i, name := range names {
			switch {
			case !validName(name):
				w.errorf(nodes[i], join(path, "after"), "%q is not a valid pipeline name: %s", name, nameRule)
			case name == self:
				w.errorf(nodes[i], join(path, "after"), "a pipeline cannot start after itself")
			default:
				t.After = append(t.After, name)
			}
		}
	}
}

// schedules reads `schedule:`: a list of {cron, branch}.
func (w *walker) schedules(n *yaml.Node, path string) []Schedule {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		w.errorf(n, path, "must be a list of schedules such as [{cron: \"0 3 * * *\"}], not %s", describe(n))
		return nil
	}
	var out []Schedule
	for i, item := range w.items(n) {
		field := index(path, i)
		if item.Kind != yaml.MappingNode {
			w.errorf(item, field, "must be a map such as {cron: \"0 3 * * *\"}, not %s", describe(item))
			continue
		}
		var s Schedule
		var sawCron bool
		for _, e := range w.entries(item, field) {
			efield := join(field, e.key.Value)
			switch e.key.Value {
			case "cron":
				sawCron = true
				if !isScalar(e.value) {
					w.errorf(e.value, efield, "must be a cron line such as \"0 3 * * *\", not %s", describe(e.value))
					continue
				}
				sched, err := cronParser.Parse(e.value.Value)
				if err != nil {
					w.errorf(e.value, efield, "%q is not a valid schedule (%v); write five fields, minute hour day-of-month month day-of-week, as in \"0 3 * * *\", or @daily", e.value.Value, err)
					continue
				}
				s.Cron, s.sched = e.value.Value, sched
			case "branch":
				if !isScalar(e.value) || strings.TrimSpace(e.value.Value) == "" {
					w.errorf(e.value, efield, "must be a branch name, not %s", describe(e.value))
					continue
				}
				s.Branch = e.value.Value
			default:
				w.unknownKey(e.key, field, scheduleKeys)
			}
		}
		if !sawCron {
			w.errorf(item, join(field, "cron"), "missing; a schedule needs a cron line such as \"0 3 * * *\"")
		}
		if s.sched != nil {
			out = append(out, s)
		}
	}
	return out
}
