package pipeline

import (
	"strings"

	lathe "github.com/lathe-ci/lathe"

	"go.yaml.in/yaml/v3"
)

var externalStageKeys = []string{"name", "external"}

// ExternalDep is the name under which a job's Deps list an external stage:
// the job waits until an outside tool sets the stage to success.
func ExternalDep(stage string) string { return lathe.ExternalStageDep(stage) }

// ExternalStageOf reports whether dep stands for an external stage, and which.
func ExternalStageOf(dep string) (string, bool) {
	return strings.CutPrefix(dep, lathe.ExternalStagePrefix)
}

// externalStage reads a stage written as a map, {name: scan, external:
// true}, records it in st when external, and returns the node of its name
// for the checks every stage name gets (nil when the entry is unusable).
func (w *walker) externalStage(n *yaml.Node, path string, st *stages) *yaml.Node {
	var name *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" {
			name = n.Content[i+1]
		}
	}
	if name == nil {
		w.errorf(n, path, "must be a stage name, not a map without a name; an external stage is written {name: scan, external: true}")
		return nil
	}
	external := false
	for _, e := range w.entries(n, path) {
		switch e.key.Value {
		case "name":
		case "external":
			external = w.boolean(e.value, join(path, "external"))
		default:
			w.unknownKey(e.key, path, externalStageKeys)
		}
	}
	if external && isScalar(name) {
		if st.external == nil {
			st.external = map[string]bool{}
		}
		st.external[name.Value] = true
	}
	return name
}

// externalNames lists the external stages in declared order.
func (st stages) externalNames() []string {
	var out []string
	for _, name := range st.names {
		if st.external[name] {
			out = append(out, name)
		}
	}
	return out
}
