package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lathe-ci/lathe"
	"go.yaml.in/yaml/v3"
)

// MaxPlanJobs bounds the jobs one pipeline expands to, matrices included,
// so a few lines of YAML cannot ask for millions of jobs.
const MaxPlanJobs = 1000

// Matrix turns one job into one job per combination of values: the
// cartesian product of the axes, minus the combinations Exclude matches,
// plus those Include adds.
//
// An expanded job is named after its job and its values in axis order,
// "test (go=1.22, os=linux)"; it sees each value as MATRIX_<AXIS> (the axis
// upper-cased, '-' as '_') in its env and as matrix.<axis> in conditions.
// `needs: [test]` on another job means every expansion of test.
type Matrix struct {
	// Axes are the named lists of values, in file order.
	Axes []Axis
	// Include lists extra combinations, added after the product unless
	// they are already in it. They may name keys that are not axes.
	Include [][]MatrixValue
	// Exclude lists partial combinations: a combination that has all the
	// values of any entry is left out.
	Exclude [][]MatrixValue
}

// Axis is one dimension of a matrix.
type Axis struct {
	Name   string
	Values []string
}

// MatrixValue is one axis's value in a combination.
type MatrixValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Combinations lists the matrix's combinations in order: the product with
// the last axis varying fastest, then the includes.
func (m *Matrix) Combinations() [][]MatrixValue {
	var out [][]MatrixValue
	if len(m.Axes) > 0 {
		idx := make([]int, len(m.Axes))
		for {
			combo := make([]MatrixValue, len(m.Axes))
			for i, a := range m.Axes {
				combo[i] = MatrixValue{a.Name, a.Values[idx[i]]}
			}
			if !m.excluded(combo) {
				out = append(out, combo)
			}
			i := len(idx) - 1
			for ; i >= 0; i-- {
				idx[i]++
				if idx[i] < len(m.Axes[i].Values) {
					break
				}
				idx[i] = 0
			}
			if i < 0 {
				break
			}
		}
	}
	for _, inc := range m.Include {
		if !hasCombo(out, inc) {
			out = append(out, inc)
		}
	}
	return out
}

// excluded reports whether some Exclude entry matches combo.
func (m *Matrix) excluded(combo []MatrixValue) bool {
	for _, ex := range m.Exclude {
		if subset(ex, combo) {
			return true
		}
	}
	return false
}

// subset reports whether every value of part is in combo.
func subset(part, combo []MatrixValue) bool {
	for _, p := range part {
		found := false
		for _, c := range combo {
			if c == p {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func hasCombo(list [][]MatrixValue, combo []MatrixValue) bool {
	for _, c := range list {
		if len(c) == len(combo) && subset(combo, c) {
			return true
		}
	}
	return false
}

// axisIndex is the position of an axis, and len(Axes) for include-only keys.
func (m *Matrix) axisIndex(name string) int {
	for i, a := range m.Axes {
		if a.Name == name {
			return i
		}
	}
	return len(m.Axes)
}

// Keys lists every name a combination may have: the axes, then the keys
// only includes add.
func (m *Matrix) Keys() []string {
	var out []string
	seen := make(map[string]bool)
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, a := range m.Axes {
		add(a.Name)
	}
	for _, inc := range m.Include {
		for _, v := range inc {
			add(v.Name)
		}
	}
	return out
}

// matrixName names one expansion of a job: "test (go=1.22, os=linux)".
func matrixName(job string, combo []MatrixValue) string {
	parts := make([]string, len(combo))
	for i, v := range combo {
		parts[i] = v.Name + "=" + v.Value
	}
	return job + " (" + strings.Join(parts, ", ") + ")"
}

// matrixEnv is the env an expansion sees for its values.
func matrixEnv(combo []MatrixValue) []lathe.EnvVar {
	out := make([]lathe.EnvVar, len(combo))
	for i, v := range combo {
		out[i] = lathe.EnvVar{Name: "MATRIX_" + envSuffix(v.Name), Value: v.Value}
	}
	return out
}

// matrix reads a job's `matrix:`. It returns nil when there is nothing
// usable, and reports a matrix that expands past MaxPlanJobs.
func (w *walker) matrix(n *yaml.Node, path string) *Matrix {
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a map of axis names to lists of values (plus include/exclude), not %s", describe(n))
		return nil
	}
	m := &Matrix{}
	mark := len(w.errs)
	var includeNode, excludeNode *yaml.Node
	envNames := make(map[string]string)
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch e.key.Value {
		case "include":
			includeNode = e.value
			continue
		case "exclude":
			excludeNode = e.value
			continue
		}
		if !w.axisName(e.key, field, envNames) {
			continue
		}
		if values := w.axisValues(e.value, field); values != nil {
			m.Axes = append(m.Axes, Axis{Name: e.key.Value, Values: values})
		}
	}
	axes := make(map[string][]string, len(m.Axes))
	for _, a := range m.Axes {
		axes[a.Name] = a.Values
	}
	if excludeNode != nil {
		m.Exclude = w.combos(excludeNode, join(path, "exclude"), axes, envNames, true)
	}
	if includeNode != nil {
		m.Include = w.combos(includeNode, join(path, "include"), axes, envNames, false)
		for _, inc := range m.Include {
			// Name every expansion with its values in axis order, whatever
			// order the include was written in.
			slices.SortStableFunc(inc, func(a, b MatrixValue) int { return m.axisIndex(a.Name) - m.axisIndex(b.Name) })
		}
	}
	size := 1
	for _, a := range m.Axes {
		size *= len(a.Values)
		if size > MaxPlanJobs {
			w.errorf(n, path, "matrix has more than %d combinations; a pipeline may expand to at most %d jobs", MaxPlanJobs, MaxPlanJobs)
			return nil
		}
	}
	if len(m.Axes) == 0 && len(m.Include) == 0 {
		if len(w.errs) == mark {
			w.errorf(n, path, "must have at least one axis, such as `os: [linux, darwin]`, or an include list")
		}
		return nil
	}
	if len(m.Combinations()) == 0 {
		w.errorf(n, path, "exclude leaves no combination; the job would never run")
		return nil
	}
	return m
}

// axisName checks an axis (or include key) name and that its env name
// does not clash with another's.
func (w *walker) axisName(k *yaml.Node, field string, envNames map[string]string) bool {
	if !validIdent(k.Value) {
		w.errorf(k, field, "%q is not a valid matrix axis name: %s", k.Value, identRule)
		return false
	}
	env := envSuffix(k.Value)
	if other, clash := envNames[env]; clash && other != k.Value {
		w.errorf(k, field, "axes %q and %q would both be the variable MATRIX_%s; rename one", other, k.Value, env)
		return false
	}
	envNames[env] = k.Value
	return true
}

// axisValues reads an axis's non-empty list of distinct single values.
func (w *walker) axisValues(n *yaml.Node, path string) []string {
	if n.Kind != yaml.SequenceNode {
		w.errorf(n, path, "must be a list of values such as [linux, darwin], not %s", describe(n))
		return nil
	}
	items := w.items(n)
	if len(items) == 0 {
		w.errorf(n, path, "must list at least one value")
		return nil
	}
	var out []string
	for _, item := range items {
		switch {
		case !isScalar(item):
			w.errorf(item, path, "must be a single value (a string, number or true/false), not %s", describe(item))
			return nil
		case slices.Contains(out, item.Value):
			w.errorf(item, path, "duplicate value %q", item.Value)
		default:
			out = append(out, item.Value)
		}
	}
	return out
}

// combos reads an include or exclude list of maps. Exclude entries may only
// use the axes and their values; include entries may add keys.
func (w *walker) combos(n *yaml.Node, path string, axes map[string][]string, envNames map[string]string, exclude bool) [][]MatrixValue {
	if n.Kind != yaml.SequenceNode {
		w.errorf(n, path, "must be a list of maps such as {os: linux, go: \"1.22\"}, not %s", describe(n))
		return nil
	}
	var out [][]MatrixValue
	for i, item := range w.items(n) {
		field := index(path, i)
		if item.Kind != yaml.MappingNode {
			w.errorf(item, field, "must be a map such as {os: linux}, not %s", describe(item))
			continue
		}
		var combo []MatrixValue
		ok := true
		for _, e := range w.entries(item, field) {
			vfield := join(field, e.key.Value)
			values, isAxis := axes[e.key.Value]
			switch {
			case exclude && !isAxis:
				w.errorf(e.key, vfield, "unknown axis %q%s; exclude can only name the matrix's axes", e.key.Value, w.didYouMean(e.key.Value, axisNames(axes)))
				ok = false
			case !exclude && !isAxis && !w.axisName(e.key, vfield, envNames):
				ok = false
			case !isScalar(e.value):
				w.errorf(e.value, vfield, "must be a single value, not %s", describe(e.value))
				ok = false
			case exclude && !slices.Contains(values, e.value.Value):
				w.errorf(e.value, vfield, "%q is not a value of axis %s %s, so this never excludes anything", e.value.Value, e.key.Value, fmt.Sprint(values))
				ok = false
			default:
				combo = append(combo, MatrixValue{e.key.Value, e.value.Value})
			}
		}
		switch {
		case !ok:
		case len(combo) == 0:
			w.errorf(item, field, "is empty; name at least one axis")
		default:
			out = append(out, combo)
		}
	}
	return out
}

func axisNames(axes map[string][]string) []string {
	out := make([]string, 0, len(axes))
	for name := range axes {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// checkExpansion reports a pipeline whose matrices expand past
// MaxPlanJobs. It stops counting as soon as the limit is passed, so the
// check costs at most one matrix more than the limit allows.
func (w *walker) checkExpansion(n *yaml.Node, srcs []*jobSrc) {
	total := 0
	for _, s := range srcs {
		if s.job.Matrix == nil {
			total++
		} else {
			total += len(s.job.Matrix.Combinations())
		}
		if total > MaxPlanJobs {
			w.errorf(n, "jobs", "the jobs expand to more than %d (matrices included), the most one pipeline may have; split the pipeline or trim its matrices", MaxPlanJobs)
			return
		}
	}
}
