package pipeline

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// jobKeys are the keys a job may have.
var jobKeys = []string{"stage", "runs-on", "timeout", "env", "needs", "steps"}

// jobSrc is a parsed job together with the YAML nodes later checks point at.
type jobSrc struct {
	job  *Job
	key  *yaml.Node
	path string
	// stage is the index of the job's stage, or -1 when it has none.
	stage int
	// needs holds the node of each entry in job.Needs.
	needs []*yaml.Node
}

// jobs reads the `jobs:` map in file order.
func (w *walker) jobs(n *yaml.Node, path string, st stages) []*jobSrc {
	if n.Kind != yaml.MappingNode && !isNull(n) {
		w.errorf(n, path, "must be a map of job names to jobs, not %s", describe(n))
		return nil
	}
	entries := w.entries(n, path)
	if len(entries) == 0 {
		w.errorf(n, path, "must define at least one job")
		return nil
	}
	srcs := make([]*jobSrc, 0, len(entries))
	for _, e := range entries {
		srcs = append(srcs, w.job(e.key, e.value, join(path, e.key.Value), st))
	}
	return srcs
}

// job reads one job. It always returns a job, so later checks such as
// `needs` can refer to it even when it has errors of its own.
func (w *walker) job(key, n *yaml.Node, path string, st stages) *jobSrc {
	s := &jobSrc{
		job:   &Job{Name: key.Value, Timeout: DefaultTimeout, Line: key.Line},
		key:   key,
		path:  path,
		stage: -1,
	}
	if !validName.MatchString(key.Value) {
		w.errorf(key, path, "%q is not a valid job name: %s", key.Value, nameRule)
	}
	if n.Kind != yaml.MappingNode && !isNull(n) {
		w.errorf(n, path, "must be a map with keys such as steps and stage, not %s", describe(n))
		return s
	}
	var stageNode, stepsNode *yaml.Node
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch e.key.Value {
		case "stage":
			stageNode = e.value
		case "runs-on":
			s.job.RunsOn = w.labels(e.value, field)
		case "timeout":
			s.job.Timeout = w.timeout(e.value, field)
		case "env":
			s.job.Env = w.env(e.value, field)
		case "needs":
			s.job.Needs, s.needs = w.needs(e.value, field)
		case "steps":
			stepsNode = e.value
		default:
			w.unknownKey(e.key, path, jobKeys)
		}
	}
	s.job.Stage, s.stage = w.jobStage(key, stageNode, join(path, "stage"), st)
	if stepsNode == nil {
		w.errorf(key, join(path, "steps"), "missing; every job needs a list of steps to run")
	} else {
		s.job.Steps = w.steps(stepsNode, join(path, "steps"))
	}
	return s
}

// jobStage checks a job's `stage:` (n, nil when absent) against the declared
// stages and returns the stage and its index (-1 when unknown).
func (w *walker) jobStage(key, n *yaml.Node, path string, st stages) (string, int) {
	if !st.declared {
		if n != nil {
			w.errorf(n, path, "this pipeline declares no stages; add a top-level `stages:` list (such as [build, test]) or remove this key")
		}
		return DefaultStage, 0
	}
	if n == nil {
		if st.ok {
			w.errorf(key, path, "missing; this pipeline declares stages %s, so every job must name the one it runs in", st)
		}
		return "", -1
	}
	if !isScalar(n) {
		w.errorf(n, path, "must be a stage name, not %s", describe(n))
		return "", -1
	}
	i, known := st.index[n.Value]
	if !known {
		if st.ok {
			w.errorf(n, path, "stage %q is not declared in stages %s%s", n.Value, st, w.didYouMean(n.Value, st.names))
		}
		return n.Value, -1
	}
	return n.Value, i
}

// labels reads `runs-on:`: one label or a list of them.
func (w *walker) labels(n *yaml.Node, path string) []string {
	if isNull(n) {
		return nil
	}
	labels, _ := w.names(n, path, "an agent label")
	return labels
}

// needs reads `needs:`: one job name or a list of them, as written, with the
// node of each. An empty list is returned as an empty, non-nil slice: it
// means "needs nothing", unlike an absent key.
func (w *walker) needs(n *yaml.Node, path string) ([]string, []*yaml.Node) {
	if isNull(n) {
		w.errorf(n, path, "must be a job name or a list of job names; write [] to need nothing")
		return []string{}, nil
	}
	names, nodes := w.names(n, path, "a job name")
	if names == nil {
		names = []string{}
	}
	return names, nodes
}

// names reads a single non-empty string or a list of them, describing each
// as what, and returns the accepted values with their nodes. Errors about an
// entry name the list as the field; their line and column say which entry.
func (w *walker) names(n *yaml.Node, path, what string) ([]string, []*yaml.Node) {
	items := []*yaml.Node{n}
	switch n.Kind {
	case yaml.SequenceNode:
		items = w.items(n)
	case yaml.MappingNode:
		w.errorf(n, path, "must be %s or a list of them, not a map", what)
		return nil, nil
	}
	var out []string
	var nodes []*yaml.Node
	for _, item := range items {
		switch {
		case !isScalar(item):
			w.errorf(item, path, "must be %s, not %s", what, describe(item))
		case strings.TrimSpace(item.Value) == "":
			w.errorf(item, path, "must be %s, not an empty string", what)
		default:
			out = append(out, item.Value)
			nodes = append(nodes, item)
		}
	}
	return out, nodes
}
