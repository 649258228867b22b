package pipeline

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// stages is what the top-level `stages:` key declared.
type stages struct {
	// declared is whether the key is present at all.
	declared bool
	// ok is whether the list is usable to check jobs against; when the list
	// itself is broken, checking jobs against it would only add noise.
	ok    bool
	names []string
	index map[string]int
	// external are the stages declared `external: true`: an outside tool
	// drives their status, and they have no jobs.
	external map[string]bool
}

// undeclaredStages is the single default stage of a file without `stages:`.
func undeclaredStages() stages {
	return stages{ok: true, names: []string{DefaultStage}, index: map[string]int{DefaultStage: 0}}
}

// stages reads the `stages:` list: unique, valid names, at least one.
func (w *walker) stages(n *yaml.Node, path string) stages {
	st := stages{declared: true, index: make(map[string]int)}
	if n.Kind != yaml.SequenceNode {
		w.errorf(n, path, "must be a list of stage names like [build, test], not %s", describe(n))
		return st
	}
	items := w.items(n)
	if len(items) == 0 {
		w.errorf(n, path, "must list at least one stage; remove `stages` to run every job in one stage")
		return st
	}
	st.ok = true
	for _, item := range items {
		// As for every list of names, the field is the list and the line
		// and column say which entry.
		field := path
		if item.Kind == yaml.MappingNode {
			item = w.externalStage(item, path, &st)
			if item == nil {
				st.ok = false
				continue
			}
		}
		switch {
		case !isScalar(item):
			w.errorf(item, field, "must be a stage name, not %s", describe(item))
			st.ok = false
		case !validName(item.Value):
			w.errorf(item, field, "%q is not a valid stage name: %s", item.Value, nameRule)
			st.ok = false
		default:
			if _, dup := st.index[item.Value]; dup {
				w.errorf(item, field, "duplicate stage %q", item.Value)
				continue
			}
			st.index[item.Value] = len(st.names)
			st.names = append(st.names, item.Value)
		}
	}
	return st
}

// String lists the stages as they appear in messages: [build test].
func (st stages) String() string {
	return fmt.Sprint(st.names)
}
