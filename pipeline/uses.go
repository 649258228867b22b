package pipeline

import (
	"regexp"
	"sync"

	"github.com/lathe-ci/lathe"
	"go.yaml.in/yaml/v3"
)

// ActionTool is a step that runs a published tool: `uses: NAME@VERSION`.
const ActionTool = lathe.ActionTool

// validToolParam is a `with:` key: a tool parameter's name.
var validToolParam = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,62}$`) })

// uses reads a tool step's `uses: NAME@VERSION`. Whether the tool is
// published, and whether `with:` suits it, is checked when a run is planned
// on the server, against the tool's manifest.
func (w *walker) uses(n *yaml.Node, path string) *Action {
	a := &Action{Kind: ActionTool}
	if !isScalar(n) || isNull(n) {
		w.errorf(n, path, "must be a tool as NAME@VERSION, not %s", describe(n))
		return a
	}
	if _, _, err := lathe.ParseToolRef(n.Value); err != nil {
		w.errorf(n, path, "%v", err)
		return a
	}
	a.Tool = n.Value
	return a
}

// toolParams reads a tool step's `with:`: a map of parameter names to
// strings, numbers or booleans, kept as written.
func (w *walker) toolParams(n *yaml.Node, path string) map[string]string {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a map of the tool's parameters to values, not %s", describe(n))
		return nil
	}
	out := map[string]string{}
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch {
		case !validToolParam().MatchString(e.key.Value):
			w.errorf(e.key, field, "a tool parameter's name is a letter then letters, digits, '_' or '-'")
		case !isScalar(e.value) || isNull(e.value):
			w.errorf(e.value, field, "must be a string, number or boolean, not %s", describe(e.value))
		case !checkWithValue(e.value.Value):
			w.errorf(e.value, field, "only {{ params.NAME }}, {{ matrix.AXIS }} and {{ env.NAME }} may appear between {{ and }}")
		default:
			out[e.key.Value] = e.value.Value
		}
	}
	return out
}
