package pipeline

import (
	"github.com/lathe-ci/lathe"
	"go.yaml.in/yaml/v3"
)

// env reads an `env:` map of NAME: value in file order. Numbers and booleans
// keep their literal text (`RETRIES: 010` is "010"); an empty value is "".
func (w *walker) env(n *yaml.Node, path string) []lathe.EnvVar {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a map of NAME: value, not %s", describe(n))
		return nil
	}
	var vars []lathe.EnvVar
	for _, e := range w.entries(n, path) {
		name, field := e.key.Value, join(path, e.key.Value)
		if !validEnvName(name) {
			w.errorf(e.key, field, "%q is not a valid variable name: start with a letter or '_', then use letters, digits or '_'", name)
		}
		var value string
		switch {
		case isNull(e.value):
		case e.value.Kind == yaml.ScalarNode:
			value = e.value.Value
		default:
			w.errorf(e.value, field, "must be a single value (a string, number or true/false), not %s", describe(e.value))
		}
		vars = append(vars, lathe.EnvVar{Name: name, Value: value})
	}
	return vars
}

// MergeEnv returns base with over's values replacing same-named variables
// in place and adding the others after them, so the order stays the order
// variables were first written.
func MergeEnv(base, over []lathe.EnvVar) []lathe.EnvVar {
	if len(base) == 0 {
		return over
	}
	out := make([]lathe.EnvVar, len(base), len(base)+len(over))
	copy(out, base)
	at := make(map[string]int, len(out))
	for i, v := range out {
		at[v.Name] = i
	}
	for _, v := range over {
		if i, ok := at[v.Name]; ok {
			out[i].Value = v.Value
			continue
		}
		at[v.Name] = len(out)
		out = append(out, v)
	}
	return out
}
