package pipeline

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// jobKeys are the keys a job may have.
var jobKeys = []string{"stage", "runs-on", "timeout", "env", "needs", "steps", "concurrency",
	"extends", "matrix", "when", "if", "retry", "allow_failure", "secrets", "environment", "approval", "artifacts", "reports", "cache",
	"image", "services", "pull", "resources"}

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

// jobs reads the `templates:` (nil when absent) and `jobs:` maps in file
// order, applies `extends`, and returns the jobs. Templates are checked
// like jobs but need no steps or stage, and are not returned.
func (w *walker) jobs(templates, n *yaml.Node, st stages) []*jobSrc {
	const path = "jobs"
	if n.Kind != yaml.MappingNode && !isNull(n) {
		w.errorf(n, path, "must be a map of job names to jobs, not %s", describe(n))
		return nil
	}
	var tmpls []*rawJob
	if templates != nil {
		if templates.Kind != yaml.MappingNode && !isNull(templates) {
			w.errorf(templates, "templates", "must be a map of template names to job fields, not %s", describe(templates))
		} else {
			tmpls = w.rawJobs(templates, "templates", true)
		}
	}
	raws := w.rawJobs(n, path, false)
	if len(raws) == 0 {
		w.errorf(n, path, "must define at least one job")
		return nil
	}
	w.resolveExtends(tmpls, raws)
	for _, t := range tmpls {
		w.job(t, st)
	}
	srcs := make([]*jobSrc, 0, len(raws))
	for _, r := range raws {
		srcs = append(srcs, w.job(r, st))
	}
	return srcs
}

// job reads one job (or template) from its fields after extends. It always
// returns a job, so later checks such as `needs` can refer to it even when
// it has errors of its own.
func (w *walker) job(r *rawJob, st stages) *jobSrc {
	key, path := r.key, r.path
	s := &jobSrc{
		job:   &Job{Name: key.Value, Base: key.Value, Timeout: DefaultTimeout, Line: key.Line, Extends: r.extends},
		key:   key,
		path:  path,
		stage: -1,
	}
	kind := "job"
	if r.template {
		kind = "template"
	}
	if !validName(key.Value) {
		w.errorf(key, path, "%q is not a valid %s name: %s", key.Value, kind, nameRule)
	}
	if !r.ok {
		return s
	}
	var stageNode, stepsNode *yaml.Node
	// Inherited steps and stage were checked where they are written.
	var stageInherited, stepsInherited bool
	var ifCond *Condition
	var ck containerKeys
	w.containerTexts = nil
	for _, e := range r.merged {
		w.muted = e.inherited
		field := join(path, e.key.Value)
		switch e.key.Value {
		case "stage":
			stageNode, stageInherited = e.value, e.inherited
		case "runs-on":
			s.job.RunsOn = w.labels(e.value, field)
		case "timeout":
			s.job.Timeout = w.timeout(e.value, field)
		case "env":
			s.job.Env = MergeEnv(s.job.Env, w.env(e.value, field))
		case "needs":
			s.job.Needs, s.needs = w.needs(e.value, field)
		case "steps":
			stepsNode, stepsInherited = e.value, e.inherited
		case "concurrency":
			s.job.Concurrency = w.concurrency(e.value, field)
		case "extends":
			// Applied before the fields were read; see resolveExtends.
		case "matrix":
			s.job.Matrix = w.matrix(e.value, field)
		case "when":
			s.job.When = w.when(e.value, field)
		case "if":
			ifCond = w.condition(e.value, field)
		case "retry":
			s.job.Retry = w.retry(e.value, field)
		case "allow_failure":
			s.job.AllowFailure = w.boolean(e.value, field)
		case "secrets":
			s.job.Secrets = w.secrets(e.value, field)
		case "environment":
			s.job.Environment = w.environment(e.value, field)
		case "approval":
			s.job.Approval = w.approval(e.value, field)
		case "artifacts":
			s.job.Artifacts = w.artifacts(e.value, field)
		case "reports":
			s.job.Reports = w.reports(e.value, field)
		case "image":
			ck.image, ck.c.Image = e.key, w.image(e.value, field)
		case "services":
			ck.services, ck.c.Services = e.key, w.services(e.value, field)
		case "pull":
			ck.pull, ck.c.Pull = e.key, w.pull(e.value, field)
		case "resources":
			ck.resources, ck.c.Resources = e.key, w.resources(e.value, field)
		case "cache":
			s.job.Caches = w.caches(e.value, field)
		default:
			w.unknownKey(e.key, path, jobKeys)
		}
	}
	w.muted = false
	ck.check(w, s, r.template)
	w.checkContainerRefs(s.job, r.template)
	w.jobConditions(s, ifCond)
	if r.template {
		if stageNode != nil {
			s.job.Stage, s.stage = w.jobStage(key, stageNode, join(path, "stage"), st)
		}
		if stepsNode != nil {
			s.job.Steps = w.steps(stepsNode, join(path, "steps"))
		}
		return s
	}
	w.muted = stageInherited
	s.job.Stage, s.stage = w.jobStage(key, stageNode, join(path, "stage"), st)
	w.muted = false
	if stepsNode == nil {
		w.errorf(key, join(path, "steps"), "missing; every job needs a list of steps to run")
	} else {
		w.muted = stepsInherited
		s.job.Steps = w.steps(stepsNode, join(path, "steps"))
		w.muted = false
	}
	w.checkMatrixUploads(s)
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
	if st.external[n.Value] {
		w.errorf(n, path, "stage %q is external: an outside tool sets its status (PATCH /api/v1/stages/{stage}), so it has no jobs; put this job in another stage", n.Value)
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
