package pipeline

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lathe-ci/lathe"
	"go.yaml.in/yaml/v3"
)

var (
	pullPolicies = []string{lathe.PullIfNotPresent, lathe.PullAlways, lathe.PullNever}
	serviceKeys  = []string{"name", "image", "env", "command", "ready", "timeout"}
	resourceKeys = []string{"cpus", "memory"}
	// validImage is an image reference: NAME[:TAG][@DIGEST], lower-case
	// path components, no spaces.
	validImage = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9]+([._-]+[a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@[a-z0-9]+:[a-f0-9]{32,})?$`)
	})
	// validServiceName is a host name the job container reaches a service by.
	validServiceName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`) })
	memoryAmount     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([0-9]+)([bkmg]?)$`) })
)

// containerKeys collects a job's container keys as they are read; check
// turns them into the job's Container once all its keys are known.
type containerKeys struct {
	image, services, pull, resources *yaml.Node // the keys, for errors
	c                                lathe.JobContainer
}

// image reads `image:`.
func (w *walker) image(n *yaml.Node, path string) string {
	if !isScalar(n) || n.Value == "" {
		w.errorf(n, path, "must be an image name like golang:1.23, not %s", describe(n))
		return ""
	}
	if strings.Contains(n.Value, "{{") {
		if problem := checkImageTemplate(n.Value); problem != "" {
			w.errorf(n, path, "%s", problem)
			return ""
		}
		w.noteContainerText(n, path, n.Value, true)
		return n.Value
	}
	if !validImage().MatchString(n.Value) {
		w.errorf(n, path, "%q is not an image name: write NAME[:TAG] or NAME@DIGEST in lower case, like golang:1.23 or ghcr.io/org/tool:2", n.Value)
		return ""
	}
	return n.Value
}

// pull reads `pull:`.
func (w *walker) pull(n *yaml.Node, path string) string {
	if !isScalar(n) {
		w.errorf(n, path, "must be one of %s, not %s", strings.Join(pullPolicies, ", "), describe(n))
		return ""
	}
	if !slices.Contains(pullPolicies, n.Value) {
		w.errorf(n, path, "must be one of %s, not %q%s", strings.Join(pullPolicies, ", "), n.Value, w.didYouMean(n.Value, pullPolicies))
		return ""
	}
	return n.Value
}

// services reads `services:`: a list of images, or of {name, image, env,
// command, ready, timeout}.
func (w *walker) services(n *yaml.Node, path string) []lathe.Service {
	if n.Kind != yaml.SequenceNode {
		w.errorf(n, path, "must be a list of services (an image, or {name, image, env, command, ready, timeout}), not %s", describe(n))
		return nil
	}
	var out []lathe.Service
	seen := map[string]int{}
	for i, item := range w.items(n) {
		field := path + "[" + strconv.Itoa(i) + "]"
		svc, ok := w.service(item, field)
		if !ok {
			continue
		}
		if line, dup := seen[svc.Name]; dup {
			w.errorf(item, field, "a second service named %q (the first is on line %d); give one a name:", svc.Name, line)
			continue
		}
		seen[svc.Name] = item.Line
		out = append(out, svc)
	}
	return out
}

// service reads one entry of `services:`.
func (w *walker) service(n *yaml.Node, path string) (lathe.Service, bool) {
	var svc lathe.Service
	if n.Kind == yaml.ScalarNode {
		svc.Image = w.image(n, path)
		svc.Name = serviceName(svc.Image)
		if strings.Contains(svc.Name, "{{") {
			w.errorf(n, path, "a service whose image name holds {{ … }} needs a name:, like {name: db, image: %q}", svc.Image)
			return svc, false
		}
		return svc, svc.Image != ""
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be an image, or {name, image, env, command, ready, timeout}, not %s", describe(n))
		return svc, false
	}
	ok := true
	var nameNode *yaml.Node
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch e.key.Value {
		case "name":
			nameNode = e.value
			if !isScalar(e.value) || !validServiceName().MatchString(e.value.Value) {
				w.errorf(e.value, field, "must be a host name: lower-case letters, digits and '-', like db or redis-cache")
				ok = false
			}
			svc.Name = e.value.Value
		case "image":
			svc.Image = w.image(e.value, field)
		case "env":
			svc.Env = w.env(e.value, field)
			w.noteServiceEnv(e.value, field)
		case "command":
			svc.Command = w.command(e.value, field)
			w.noteContainerText(e.value, field, strings.Join(svc.Command, " "), false)
		case "ready":
			svc.Ready = w.text(e.value, field)
		case "timeout":
			svc.ReadyTimeoutSec = int64(w.timeout(e.value, field) / time.Second)
		default:
			w.unknownKey(e.key, path, serviceKeys)
			ok = false
		}
	}
	if svc.Image == "" {
		w.errorf(n, join(path, "image"), "missing; every service needs an image")
		return svc, false
	}
	if nameNode == nil {
		svc.Name = serviceName(svc.Image)
		if strings.Contains(svc.Name, "{{") {
			w.errorf(n, join(path, "name"), "missing; a service whose image name holds {{ … }} needs a name:, like {name: db, image: %q}", svc.Image)
			return svc, false
		}
	}
	return svc, ok
}

// command reads a service's `command:`: a list of arguments, or one
// string split at spaces.
func (w *walker) command(n *yaml.Node, path string) []string {
	switch {
	case n.Kind == yaml.ScalarNode && n.Value != "":
		return strings.Fields(n.Value)
	case n.Kind == yaml.SequenceNode && len(n.Content) > 0:
		var args []string
		for _, a := range w.items(n) {
			if !isScalar(a) {
				w.errorf(a, path, "each argument must be a string, not %s", describe(a))
				return nil
			}
			args = append(args, a.Value)
		}
		return args
	}
	w.errorf(n, path, "must be a list of arguments, or one string of them, not %s", describe(n))
	return nil
}

// serviceName is the name a service given only by its image is reached
// by: the image's last path component without tag or digest
// (docker.io/library/postgres:16 is "postgres").
func serviceName(image string) string {
	name, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name, _, _ = strings.Cut(name, ":")
	return strings.Trim(strings.NewReplacer("_", "-", ".", "-").Replace(name), "-")
}

// resources reads `resources:`: {cpus, memory}.
func (w *walker) resources(n *yaml.Node, path string) *lathe.Resources {
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be {cpus, memory}, like {cpus: 2, memory: 4g}, not %s", describe(n))
		return nil
	}
	r := &lathe.Resources{}
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch e.key.Value {
		case "cpus":
			c, err := strconv.ParseFloat(e.value.Value, 64)
			if !isScalar(e.value) || err != nil || c <= 0 || c > 1024 || math.IsNaN(c) {
				w.errorf(e.value, field, "must be a number of CPUs greater than zero and at most 1024, like 2 or 0.5, not %q", e.value.Value)
				continue
			}
			r.CPUs = c
		case "memory":
			r.MemoryBytes = w.memory(e.value, field)
		default:
			w.unknownKey(e.key, path, resourceKeys)
		}
	}
	return r
}

// memory reads an amount of memory: bytes, or a number with k, m or g.
func (w *walker) memory(n *yaml.Node, path string) int64 {
	const help = "must be an amount of memory like 512m or 4g (k, m, g: KiB, MiB, GiB), at least 6m"
	m := memoryAmount().FindStringSubmatch(strings.ToLower(n.Value))
	if !isScalar(n) || m == nil {
		w.errorf(n, path, "%s, not %s", help, describe(n))
		return 0
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	shift := map[string]uint{"": 0, "b": 0, "k": 10, "m": 20, "g": 30}[m[2]]
	if err != nil || v > math.MaxInt64>>shift {
		w.errorf(n, path, "%s; %q is too large", help, n.Value)
		return 0
	}
	if v <<= shift; v < 6<<20 {
		w.errorf(n, path, "%s; %q is less (container engines refuse less than 6 MiB)", help, n.Value)
		return 0
	}
	return v
}

// check makes the job's Container from its keys: services, pull and
// resources need an image. A job with an image needs an agent with a
// container executor, so its runs-on gains that label.
func (ck *containerKeys) check(w *walker, s *jobSrc, template bool) {
	if ck.image == nil && !template {
		for _, k := range []*yaml.Node{ck.services, ck.pull, ck.resources} {
			if k != nil {
				w.errorf(k, join(s.path, k.Value), "needs image: too; %s applies to a job run in a container", k.Value)
			}
		}
	}
	if ck.image == nil || ck.c.Image == "" {
		return // its error is said
	}
	c := ck.c
	s.job.Container = &c
	if !slices.Contains(s.job.RunsOn, lathe.ContainerExecutorLabel) {
		s.job.RunsOn = append(s.job.RunsOn, lathe.ContainerExecutorLabel)
	}
}
