package pipeline

import (
	"net/url"
	"regexp"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

var (
	environmentKeys = []string{"name", "url"}
	approvalKeys    = []string{"from", "message"}
	// validPrincipal is the rule for user and team names in approvals.
	validPrincipal = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^@?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?$`) })
)

// Environment marks a job as a deployment to a named environment.
type Environment struct {
	Name string
	// URL is where the deployed thing can be seen; optional.
	URL string
}

// Approval is a gate before a job: the job waits until one of From (or,
// when From is empty, anyone who may write to the project) confirms.
type Approval struct {
	// From lists user names and team names (such as ops or @org/ops).
	From []string
	// Message is shown to the people asked.
	Message string
}

// environment reads `environment:`: a name, or {name, url}.
func (w *walker) environment(n *yaml.Node, path string) *Environment {
	if isScalar(n) {
		return &Environment{Name: w.envName(n, path)}
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be an environment name or {name, url}, not %s", describe(n))
		return nil
	}
	env := &Environment{}
	var sawName bool
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch e.key.Value {
		case "name":
			sawName = true
			env.Name = w.envName(e.value, field)
		case "url":
			u, err := url.Parse(e.value.Value)
			if !isScalar(e.value) || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				w.errorf(e.value, field, "must be an http:// or https:// URL")
				continue
			}
			env.URL = e.value.Value
		default:
			w.unknownKey(e.key, path, environmentKeys)
		}
	}
	if !sawName {
		w.errorf(n, join(path, "name"), "missing; name the environment, such as production")
	}
	return env
}

// envName reads an environment name.
func (w *walker) envName(n *yaml.Node, path string) string {
	if !isScalar(n) || !validName(n.Value) {
		w.errorf(n, path, "must be an environment name (%s)", nameRule)
		return ""
	}
	return n.Value
}

// approval reads `approval:`: true, or {from, message}.
func (w *walker) approval(n *yaml.Node, path string) *Approval {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		if w.boolean(n, path) {
			return &Approval{}
		}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be true or a map such as {from: [ops], message: \"Deploy?\"}, not %s", describe(n))
		return nil
	}
	a := &Approval{}
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch e.key.Value {
		case "from":
			names, nodes := w.globs(e.value, field, "a user or team name")
			for i, name := range names {
				if !validPrincipal().MatchString(name) {
					w.errorf(nodes[i], field, "%q is not a user or team name: use letters, digits, '.', '_' or '-', as in alice, ops or @org/ops", name)
					continue
				}
				a.From = append(a.From, name)
			}
		case "message":
			a.Message = strings.TrimSpace(w.text(e.value, field))
		default:
			w.unknownKey(e.key, path, approvalKeys)
		}
	}
	return a
}
