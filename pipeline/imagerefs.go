package pipeline

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline/expr"
	"go.yaml.in/yaml/v3"
)

// A job's `image:` and its services' image, env values and command
// arguments may hold `{{ matrix.AXIS }}` and `{{ params.NAME }}`, replaced
// in the plan by the expansion's matrix value and the run's parameter, so
// `image: golang:{{ matrix.go }}` runs each expansion in its own image.
// Parse refuses a reference to an axis the job's matrix lacks or a
// parameter the pipeline does not declare, and an image that is not an
// image name once its references are replaced.

// containerRef matches one reference in a container field.
var containerRef = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\{\{\s*(params|matrix)\.([A-Za-z0-9_-]+)\s*\}\}`)
})

// imageRefHelp is said of an image with anything else between {{ and }}.
const imageRefHelp = "only {{ matrix.AXIS }} and {{ params.NAME }} may appear between {{ and }}"

// containerText is a container field holding references, kept while the
// job is read so its names can be checked once the job's matrix is known.
type containerText struct {
	node  *yaml.Node
	field string
	text  string
	image bool
}

// noteContainerText remembers a container field's text when it holds a
// reference.
func (w *walker) noteContainerText(n *yaml.Node, field, text string, image bool) {
	if containerRef().MatchString(text) {
		w.containerTexts = append(w.containerTexts, containerText{node: n, field: field, text: text, image: image})
	}
}

// checkImageTemplate checks an image holding references, each taken as
// one letter; it returns the problem, or "".
func checkImageTemplate(image string) string {
	bare := containerRef().ReplaceAllString(image, "x")
	if strings.Contains(bare, "{{") || strings.Contains(bare, "}}") {
		return fmt.Sprintf("%q: %s", image, imageRefHelp)
	}
	if !validImage().MatchString(bare) {
		return fmt.Sprintf("%q (its {{ … }} taken as x) is not an image name: write NAME[:TAG] or NAME@DIGEST in lower case, like golang:{{ matrix.go }}", image)
	}
	return ""
}

// checkContainerRefs reports the references in the job's container fields
// that name an axis its matrix lacks or an undeclared parameter, and a
// matrix expansion whose image is not an image name. Templates are
// checked in the jobs that extend them, which have their own matrix.
func (w *walker) checkContainerRefs(job *Job, template bool) {
	texts := w.containerTexts
	w.containerTexts = nil
	if template {
		return
	}
	var keys []string
	if job.Matrix != nil {
		keys = matrixKeys(job.Matrix)
	}
	params := slices.Sorted(func(yield func(string) bool) {
		for k := range w.declared {
			if !yield(k) {
				return
			}
		}
	})
	for _, t := range texts {
		ok := true
		for _, ref := range containerRef().FindAllStringSubmatch(t.text, -1) {
			switch {
			case ref[1] == "matrix" && !slices.Contains(keys, ref[2]):
				w.errorf(t.node, t.field, "%q names matrix.%s, which this job's matrix does not have%s", t.text, ref[2], w.didYouMean(ref[2], keys))
				ok = false
			case ref[1] == "params" && !w.declared[ref[2]]:
				w.errorf(t.node, t.field, "%q names params.%s, which this pipeline does not declare under parameters:%s", t.text, ref[2], w.didYouMean(ref[2], params))
				ok = false
			}
		}
		if !ok || !t.image || job.Matrix == nil {
			continue
		}
		for _, combo := range job.Matrix.Combinations() {
			img := replaceContainerRefs(t.text, func(kind, name string) string {
				if kind == "params" {
					return "x"
				}
				return comboValue(combo, name)
			})
			if checkImageTemplate(img) != "" {
				w.errorf(t.node, t.field, "in the expansion %s, %q becomes %q, which is not an image name", matrixName(job.Name, combo), t.text, img)
				break
			}
		}
	}
}

// comboValue is the value of axis name in combo, or "".
func comboValue(combo []MatrixValue, name string) string {
	for _, v := range combo {
		if v.Name == name {
			return v.Value
		}
	}
	return ""
}

// replaceContainerRefs replaces each reference in s by value(kind, name).
func replaceContainerRefs(s string, value func(kind, name string) string) string {
	return containerRef().ReplaceAllStringFunc(s, func(ref string) string {
		m := containerRef().FindStringSubmatch(ref)
		return value(m[1], m[2])
	})
}

// expandContainer returns c with the references in its image and its
// services' images, env values and command arguments replaced, looking
// names up as the plan's conditions do; c itself when it has none.
func expandContainer(c *lathe.JobContainer, lookup func(string) (expr.Value, bool)) *lathe.JobContainer {
	if c == nil || !containerHasRefs(c) {
		return c
	}
	expand := func(s string) string {
		return replaceContainerRefs(s, func(kind, name string) string {
			if v, ok := lookup(kind + "." + name); ok {
				return v.Text()
			}
			return ""
		})
	}
	cp := *c
	cp.Image = expand(c.Image)
	cp.Services = slices.Clone(c.Services)
	for i, svc := range cp.Services {
		svc.Image = expand(svc.Image)
		svc.Env = slices.Clone(svc.Env)
		for k := range svc.Env {
			svc.Env[k].Value = expand(svc.Env[k].Value)
		}
		svc.Command = slices.Clone(svc.Command)
		for k := range svc.Command {
			svc.Command[k] = expand(svc.Command[k])
		}
		cp.Services[i] = svc
	}
	return &cp
}

// containerHasRefs reports whether any of c's expandable fields holds a
// reference.
func containerHasRefs(c *lathe.JobContainer) bool {
	has := containerRef().MatchString
	if has(c.Image) {
		return true
	}
	for _, svc := range c.Services {
		if has(svc.Image) || slices.ContainsFunc(svc.Command, has) || slices.ContainsFunc(svc.Env, func(e lathe.EnvVar) bool { return has(e.Value) }) {
			return true
		}
	}
	return false
}

// noteServiceEnv remembers the values of a service's env map that hold
// references.
func (w *walker) noteServiceEnv(n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], w.resolve(n.Content[i+1])
		if v.Kind == yaml.ScalarNode {
			w.noteContainerText(v, join(path, k.Value), v.Value, false)
		}
	}
}

// imageSchemaPattern is the schema's pattern for an image: an image name,
// or a text holding {{ … }}, which only Parse can check.
func imageSchemaPattern() string { return validImage().String() + `|\{\{` }

// markRefs marks in used the parameters that the references of re in s
// name (re's first group is the kind, its second the name).
func markRefs(used map[string]bool, re *regexp.Regexp, s string) {
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		if m[1] == "params" {
			used[m[2]] = true
		}
	}
}

// markContainerRefs marks in used the parameters c's fields name.
func markContainerRefs(used map[string]bool, c *lathe.JobContainer) {
	if c == nil {
		return
	}
	markRefs(used, containerRef(), c.Image)
	for _, svc := range c.Services {
		markRefs(used, containerRef(), svc.Image)
		for _, e := range svc.Env {
			markRefs(used, containerRef(), e.Value)
		}
		for _, a := range svc.Command {
			markRefs(used, containerRef(), a)
		}
	}
}
