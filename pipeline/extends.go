package pipeline

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// rawJob is a job or template as written, before `extends` is applied.
type rawJob struct {
	name     string
	key      *yaml.Node
	path     string
	template bool
	// ok is false when the value is not a map; such a job has no fields.
	ok      bool
	entries []entry
	// extends holds the `extends:` names with their nodes.
	extends      []string
	extendsNodes []*yaml.Node
	// merged is the job's fields after extends: its own, then those it
	// inherits and does not override. env appears once per definer,
	// parents first, so the job's own variables win.
	merged []jobEntry
	state  int // 0 unvisited, 1 resolving, 2 resolved
}

// jobEntry is one field of a job and whether it came from a parent.
type jobEntry struct {
	entry
	inherited bool
}

// rawJobs reads the entries of a `jobs:` or `templates:` map.
func (w *walker) rawJobs(n *yaml.Node, path string, template bool) []*rawJob {
	var out []*rawJob
	for _, e := range w.entries(n, path) {
		r := &rawJob{name: e.key.Value, key: e.key, path: join(path, e.key.Value), template: template}
		if e.value.Kind == yaml.MappingNode {
			r.ok = true
			r.entries = w.entries(e.value, r.path)
			for _, f := range r.entries {
				if f.key.Value == "extends" {
					r.extends, r.extendsNodes = w.names(f.value, join(r.path, "extends"), "a job or template name")
				}
			}
		} else if isNull(e.value) {
			r.ok = true
		} else {
			what := "steps and stage"
			if template {
				what = "steps and env"
			}
			w.errorf(e.value, r.path, "must be a map with keys such as %s, not %s", what, describe(e.value))
		}
		out = append(out, r)
	}
	return out
}

// resolveExtends fills every raw job's merged fields, reporting unknown
// parents and cycles where the `extends:` entry is written. A job may
// extend templates and other jobs; templates may extend templates.
func (w *walker) resolveExtends(templates, jobs []*rawJob) {
	byName := make(map[string]*rawJob, len(templates)+len(jobs))
	var names []string
	for _, r := range templates {
		byName[r.name] = r
		names = append(names, r.name)
	}
	for _, r := range jobs {
		if t := byName[r.name]; t != nil && t.template {
			w.errorf(r.key, r.path, "a template is also called %q (line %d); give them different names", r.name, t.key.Line)
			continue
		}
		byName[r.name] = r
		names = append(names, r.name)
	}
	var chain []*rawJob
	var resolve func(r *rawJob)
	resolve = func(r *rawJob) {
		if r.state == 2 {
			return
		}
		r.state = 1
		chain = append(chain, r)
		var inherited []jobEntry
		for i, name := range r.extends {
			at, field := r.extendsNodes[i], join(r.path, "extends")
			p := byName[name]
			switch {
			case p == nil:
				w.errorf(at, field, "unknown job or template %q%s", name, w.didYouMean(name, names))
				continue
			case p == r:
				w.errorf(at, field, "a job cannot extend itself")
				continue
			case p.template != r.template && r.template:
				w.errorf(at, field, "a template can only extend other templates, and %q is a job", name)
				continue
			case p.state == 1:
				w.errorf(at, field, "cycle in extends: %s", cyclePath(chain, p))
				continue
			}
			resolve(p)
			inherited = overlay(inherited, p.merged)
		}
		own := make([]jobEntry, 0, len(r.entries))
		for _, e := range r.entries {
			own = append(own, jobEntry{entry: e})
		}
		r.merged = overlay(markInherited(inherited), own)
		chain = chain[:len(chain)-1]
		r.state = 2
	}
	for _, r := range templates {
		resolve(r)
	}
	for _, r := range jobs {
		resolve(r)
	}
}

// overlay returns base with over's fields replacing base's of the same
// key, except env, which accumulates. `extends` itself is never inherited.
func overlay(base, over []jobEntry) []jobEntry {
	set := make(map[string]bool, len(over))
	for _, e := range over {
		set[e.key.Value] = true
	}
	out := make([]jobEntry, 0, len(base)+len(over))
	// seen drops an env a job reaches twice (extends: [a, b] where both
	// extend c), which would otherwise double at every level of a diamond.
	seen := make(map[*yaml.Node]bool, len(base)+len(over))
	add := func(e jobEntry) {
		if !seen[e.key] {
			seen[e.key] = true
			out = append(out, e)
		}
	}
	for _, e := range base {
		if e.key.Value == "env" || !set[e.key.Value] {
			add(e)
		}
	}
	for _, e := range over {
		add(e)
	}
	return out
}

// markInherited flags parent fields so that re-reading them stays quiet.
func markInherited(entries []jobEntry) []jobEntry {
	out := make([]jobEntry, 0, len(entries))
	for _, e := range entries {
		if e.key.Value == "extends" {
			continue
		}
		e.inherited = true
		out = append(out, e)
	}
	return out
}

// cyclePath names the jobs of an extends cycle that closes at p.
func cyclePath(chain []*rawJob, p *rawJob) string {
	var names []string
	for i := len(chain) - 1; i >= 0; i-- {
		names = append([]string{chain[i].name}, names...)
		if chain[i] == p {
			break
		}
	}
	return strings.Join(append(names, p.name), " -> ")
}
