package pipeline

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxNodes bounds how many YAML values one file may expand to. Aliases let a
// few lines stand for billions of values; this is the guard.
const maxNodes = 100_000

// walker visits a YAML tree on behalf of one file, collecting errors and
// counting every value it visits so alias expansion stays bounded.
type walker struct {
	file      string
	errs      ErrorList
	visited   int
	exhausted bool
	// merging holds the maps whose merge keys are being expanded, to catch
	// a map that merges itself.
	merging map[*yaml.Node]bool
	// suggestLeft is what remains of the file's suggestBudget.
	suggestLeft int
	// warns collects warnings, kept apart from errs so that they never
	// stop a pipeline from parsing.
	warns ErrorList
	// declared is the set of declared parameter names, for conditions.
	declared map[string]bool
	// muted silences errors while a job re-reads fields it inherits
	// through `extends`: they were reported where they are written.
	muted bool
	// containerTexts are the current job's container fields holding
	// {{ … }} references (see checkContainerRefs).
	containerTexts []containerText
	// actionNames holds where each upload's or download's name is
	// written, for the errors the matrix checks find in it later.
	actionNames map[*Action]*yaml.Node
}

// newWalker starts a walk over one file.
func newWalker(file string) *walker {
	return &walker{file: file, suggestLeft: suggestBudget}
}

// didYouMean suggests the candidate closest to word, charged to this file.
func (w *walker) didYouMean(word string, candidates []string) string {
	return didYouMean(word, candidates, &w.suggestLeft)
}

// unknownKey reports key k, found in the map at path, as not one of known.
func (w *walker) unknownKey(k *yaml.Node, path string, known []string) {
	hint := w.didYouMean(k.Value, known)
	if hint == "" {
		hint = "; expected one of: " + strings.Join(known, ", ")
	}
	w.errorf(k, join(path, k.Value), "unknown key %q%s", k.Value, hint)
}

// errorf records a problem at n. Once the node budget is exhausted the
// remaining walk sees placeholder values, so its complaints are dropped.
func (w *walker) errorf(n *yaml.Node, field, format string, args ...any) {
	if w.exhausted || w.muted {
		return
	}
	w.errs = append(w.errs, &Error{
		File:    w.file,
		Line:    max(n.Line, 1),
		Column:  max(n.Column, 1),
		Field:   field,
		Message: fmt.Sprintf(format, args...),
	})
}

// warnf records a warning at n.
func (w *walker) warnf(n *yaml.Node, field, format string, args ...any) {
	if w.exhausted || w.muted {
		return
	}
	w.warns = append(w.warns, &Error{
		File:     w.file,
		Line:     max(n.Line, 1),
		Column:   max(n.Column, 1),
		Field:    field,
		Message:  fmt.Sprintf(format, args...),
		Severity: SeverityWarning,
	})
}

// resolve follows aliases to the value they stand for and counts the visit.
// After the budget runs out it returns an empty placeholder.
func (w *walker) resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil && !w.exhausted {
		w.count(n)
		n = n.Alias
	}
	w.count(n)
	if w.exhausted {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
	}
	return n
}

// count charges one visit against the budget.
func (w *walker) count(n *yaml.Node) {
	if w.exhausted {
		return
	}
	w.visited++
	if w.visited > maxNodes {
		w.errorf(n, "", "pipeline expands to more than %d values; it is too large or its aliases expand too much", maxNodes)
		w.exhausted = true
	}
}

// entry is one key of a map with its (resolved) value.
type entry struct {
	key, value *yaml.Node
}

// entries lists the keys of the map m in file order, resolving aliases and
// `<<` merge keys, and reporting keys that are not plain names or appear
// twice. Merged keys take the place of their `<<` key, and keys written in m
// win over merged ones, as YAML's merge rules say.
func (w *walker) entries(m *yaml.Node, path string) []entry {
	// slot is one written key, or the keys one `<<` brings in.
	type slot struct {
		entry  entry
		merged []entry
		merge  bool
	}
	var slots []slot
	explicit := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(m.Content) && !w.exhausted; i += 2 {
		k := w.resolve(m.Content[i])
		switch {
		case k.Kind == yaml.ScalarNode && k.Tag == "!!merge":
			slots = append(slots, slot{merge: true, merged: w.merge(m, m.Content[i+1], path)})
		case k.Kind != yaml.ScalarNode:
			w.errorf(k, path, "keys must be plain names, not %s", describe(k))
		case explicit[k.Value] != nil:
			w.errorf(k, join(path, k.Value), "duplicate key %q (first defined on line %d)", k.Value, explicit[k.Value].Line)
		default:
			explicit[k.Value] = k
			slots = append(slots, slot{entry: entry{key: k, value: w.resolve(m.Content[i+1])}})
		}
	}
	var out []entry
	emitted := make(map[string]bool)
	for _, s := range slots {
		if !s.merge {
			out = append(out, s.entry)
			continue
		}
		for _, e := range s.merged {
			if explicit[e.key.Value] == nil && !emitted[e.key.Value] {
				emitted[e.key.Value] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// merge expands the value of a `<<` key in the map m: a map, or a list of
// maps where earlier maps win.
func (w *walker) merge(m, v *yaml.Node, path string) []entry {
	if w.merging == nil {
		w.merging = make(map[*yaml.Node]bool)
	}
	if w.merging[m] {
		w.errorf(v, path, "merge key (<<) refers back to the map it is in")
		return nil
	}
	w.merging[m] = true
	defer delete(w.merging, m)

	v = w.resolve(v)
	sources := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		sources = w.items(v)
	}
	var out []entry
	seen := make(map[string]bool)
	for _, src := range sources {
		if src.Kind != yaml.MappingNode {
			w.errorf(src, path, "merge key (<<) must refer to a map or a list of maps, not %s", describe(src))
			continue
		}
		for _, e := range w.entries(src, path) {
			if !seen[e.key.Value] {
				seen[e.key.Value] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// items lists the resolved values of the sequence s.
func (w *walker) items(s *yaml.Node) []*yaml.Node {
	out := make([]*yaml.Node, 0, len(s.Content))
	for _, n := range s.Content {
		if w.exhausted {
			break
		}
		out = append(out, w.resolve(n))
	}
	return out
}

// isNull reports whether n is an empty value (nothing, ~ or null).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// isScalar reports whether n is a single non-null value.
func isScalar(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && !isNull(n)
}

// describe names the kind of n for messages like "must be a list, not a map".
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a map"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "empty"
	case n.Tag == "!!int" || n.Tag == "!!float":
		return "a number"
	case n.Tag == "!!bool":
		return "true/false"
	default:
		return "a string"
	}
}

// join appends a map key to a field path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends a list position to a field path.
func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}
