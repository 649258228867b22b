package pipeline

import (
	"strings"

	"github.com/lathe-ci/lathe"
	"go.yaml.in/yaml/v3"
)

// stepKeys are the keys a step written as a map may have: a name and
// either a command or one built-in action.
var stepKeys = []string{"name", "run", ActionCheckout, ActionUpload, ActionDownload, "uses", "with"}

// maxStepName is how many characters of its command name a step that has
// no `name:`.
const maxStepName = 80

// steps reads a job's `steps:`: a non-empty list whose entries are either a
// command string or a map with `run` or a built-in action, and an optional
// `name`. The actions come back beside the steps: actions[i] is the action
// of steps[i], nil for a command; the actions slice is nil when the job
// has none, so callers that only run commands need not look.
func (w *walker) steps(n *yaml.Node, path string) []lathe.StepDef {
	if n.Kind != yaml.SequenceNode && !isNull(n) {
		w.errorf(n, path, "must be a list of steps, not %s", describe(n))
		return nil
	}
	items := w.items(n)
	if len(items) == 0 {
		w.errorf(n, path, "must be a list with at least one step")
		return nil
	}
	steps := make([]lathe.StepDef, 0, len(items))
	for i, item := range items {
		field := index(path, i)
		switch {
		case item.Kind == yaml.MappingNode:
			steps = append(steps, w.stepMap(item, field))
		case item.Kind == yaml.ScalarNode:
			if isNull(item) || strings.TrimSpace(item.Value) == "" {
				w.errorf(item, field, "step is empty; write the command to run")
				continue
			}
			steps = append(steps, lathe.StepDef{Name: stepName(item.Value), Run: item.Value})
		default:
			w.errorf(item, field, "must be a command or a map with `run` (and an optional `name`), not %s", describe(item))
		}
	}
	return steps
}

// stepMap reads a step written as a map. An action step has an empty Run,
// its Action set, and is named after its action unless it has a name.
func (w *walker) stepMap(n *yaml.Node, path string) lathe.StepDef {
	var step lathe.StepDef
	var action *Action
	var sawRun bool
	var with *yaml.Node
	var withField string
	entries := w.entries(n, path)
	for _, e := range entries {
		field := join(path, e.key.Value)
		switch e.key.Value {
		case ActionCheckout, ActionUpload, ActionDownload:
			if sawRun || action != nil {
				w.errorf(e.key, field, "a step does one thing: a `run` command or one action (checkout, upload, download); split it into two steps")
				continue
			}
			action = w.action(e.key.Value, e.value, field)
		case "uses":
			if sawRun || action != nil {
				w.errorf(e.key, field, "a step does one thing: a `run` command, one action (checkout, upload, download) or one tool (`uses`); split it into two steps")
				continue
			}
			action = w.uses(e.value, field)
		case "with":
			with, withField = e.value, field
		case "name":
			switch {
			case isNull(e.value):
			case e.value.Kind == yaml.ScalarNode:
				step.Name = e.value.Value
			default:
				w.errorf(e.value, field, "must be a string, not %s", describe(e.value))
			}
		case "run":
			if action != nil {
				w.errorf(e.key, field, "a step does one thing: a `run` command or one action (checkout, upload, download); split it into two steps")
				continue
			}
			sawRun = true
			switch {
			case e.value.Kind != yaml.ScalarNode:
				w.errorf(e.value, field, "must be a command string, not %s", describe(e.value))
			case isNull(e.value) || strings.TrimSpace(e.value.Value) == "":
				w.errorf(e.value, field, "is empty; write the command to run")
			default:
				step.Run = e.value.Value
			}
		default:
			if len(entries) == 1 && w.didYouMean(e.key.Value, stepKeys) == "" {
				// `- echo a: b` is a map to YAML; the author meant a command.
				w.errorf(e.key, field, "unknown key %q; if this step is a command containing \": \", put the whole command in quotes", e.key.Value)
				return step
			}
			w.unknownKey(e.key, path, stepKeys)
		}
	}
	if with != nil {
		if action == nil || action.Kind != ActionTool {
			w.errorf(with, withField, "only a tool step (`uses: NAME@VERSION`) takes `with:` parameters")
		} else {
			action.With = w.toolParams(with, withField)
		}
	}
	if !sawRun && action == nil {
		w.errorf(n, join(path, "run"), "missing; a step needs a command to run (or an action: checkout, upload, download)")
	}
	if strings.TrimSpace(step.Name) == "" {
		step.Name = stepName(step.Run)
		if action != nil {
			step.Name = strings.TrimSpace(action.Kind + " " + action.Name + action.Tool)
		}
	}
	step.Action = action
	return step
}

// stepName names a step after the first non-blank line of its command,
// cut to maxStepName characters.
func stepName(run string) string {
	for _, line := range strings.Split(run, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if r := []rune(line); len(r) > maxStepName {
			return string(r[:maxStepName])
		}
		return line
	}
	return ""
}
