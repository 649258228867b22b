package api

import "github.com/lathe-ci/lathe/pipeline"

// triggersView is a pipeline's `on:` as the API shows it: null for an
// event kind that starts no runs.
type triggersView struct {
	Push        *pushView        `json:"push"`
	PullRequest *pullRequestView `json:"pull_request"`
	Schedules   []scheduleView   `json:"schedules"`
	Manual      bool             `json:"manual"`
	Webhook     bool             `json:"webhook"`
	After       []string         `json:"after"`
}

// pushView filters pushes; an absent list matches every branch (or tag)
// only when the other is absent too (see pipeline.PushTrigger).
type pushView struct {
	Branches []string `json:"branches,omitempty"`
	Tags     []string `json:"tags,omitempty"`
}

type pullRequestView struct {
	Branches []string `json:"branches,omitempty"`
}

type scheduleView struct {
	Cron   string `json:"cron"`
	Branch string `json:"branch,omitempty"`
}

func viewTriggers(t *pipeline.Triggers) triggersView {
	v := triggersView{Schedules: []scheduleView{}, After: []string{}}
	if t == nil {
		return v
	}
	if t.Push != nil {
		v.Push = &pushView{Branches: t.Push.Branches, Tags: t.Push.Tags}
	}
	if t.PullRequest != nil {
		v.PullRequest = &pullRequestView{Branches: t.PullRequest.Branches}
	}
	for _, sc := range t.Schedules {
		v.Schedules = append(v.Schedules, scheduleView{Cron: sc.Cron, Branch: sc.Branch})
	}
	v.Manual, v.Webhook, v.After = t.Manual, t.Webhook, orEmpty(t.After)
	return v
}

// matrixView is a job's matrix: its axes, and the combinations of values
// it expands to (one job each), in plan order.
type matrixView struct {
	Axes         []axisView               `json:"axes"`
	Combinations [][]pipeline.MatrixValue `json:"combinations"`
}

type axisView struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

func viewMatrix(m *pipeline.Matrix) *matrixView {
	if m == nil {
		return nil
	}
	v := &matrixView{Axes: []axisView{}, Combinations: orEmpty(m.Combinations())}
	for _, a := range m.Axes {
		v.Axes = append(v.Axes, axisView{Name: a.Name, Values: orEmpty(a.Values)})
	}
	return v
}
