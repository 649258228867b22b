package pipeline

import "go.yaml.in/yaml/v3"

// text reads a free-form string such as a description; empty is "".
func (w *walker) text(n *yaml.Node, path string) string {
	switch {
	case isNull(n):
		return ""
	case n.Kind != yaml.ScalarNode:
		w.errorf(n, path, "must be a string, not %s", describe(n))
		return ""
	}
	return n.Value
}

// boolean reads true or false.
func (w *walker) boolean(n *yaml.Node, path string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		w.errorf(n, path, "must be true or false, not %s", describe(n))
		return false
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
}

// globs reads one glob or a list of them; the caller checks each.
func (w *walker) globs(n *yaml.Node, path, what string) ([]string, []*yaml.Node) {
	if isNull(n) {
		w.errorf(n, path, "must be %s or a list of them, not empty", what)
		return nil, nil
	}
	return w.names(n, path, what)
}
