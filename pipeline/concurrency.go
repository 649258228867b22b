package pipeline

import (
	"strconv"
	"strings"

	"github.com/lathe-ci/lathe"
	"go.yaml.in/yaml/v3"
)

// Concurrency is a job's `concurrency:`: the semaphore it holds while it
// runs. No more than Limit jobs naming the same Group run at once across all
// runs of the project (see lathe.Concurrency for differing limits).
type Concurrency = lathe.Concurrency

// MaxConcurrencyLimit bounds a semaphore's limit; beyond it a limit is
// almost certainly a typo.
const MaxConcurrencyLimit = 10000

// concurrencyKeys are the keys of the long form of `concurrency:`.
var concurrencyKeys = []string{"group", "limit"}

// concurrencyHelp is said in messages about a malformed `concurrency:`.
const concurrencyHelp = "must be a group name, or a map like {group: deploy, limit: 2}"

// concurrency reads `concurrency:`: a group name (limit 1), or a map with
// `group:` and an optional `limit:`. On error it returns nil.
func (w *walker) concurrency(n *yaml.Node, path string) *Concurrency {
	switch {
	case n.Kind == yaml.MappingNode:
		return w.concurrencyMap(n, path)
	case isScalar(n) && n.Tag == "!!str":
		if !w.groupName(n, path) {
			return nil
		}
		return &Concurrency{Group: n.Value, Limit: 1}
	case n.Tag == "!!int":
		w.errorf(n, path, "%s, not a number; to let %s jobs run at once, write {group: NAME, limit: %s}", concurrencyHelp, n.Value, n.Value)
	default:
		w.errorf(n, path, "%s, not %s", concurrencyHelp, describe(n))
	}
	return nil
}

func (w *walker) concurrencyMap(n *yaml.Node, path string) *Concurrency {
	c := &Concurrency{Limit: 1}
	ok := true
	var group *yaml.Node
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch e.key.Value {
		case "group":
			group = e.value
			if !isScalar(e.value) || e.value.Tag != "!!str" {
				w.errorf(e.value, field, "must be a group name, not %s", describe(e.value))
				ok = false
				continue
			}
			ok = w.groupName(e.value, field) && ok
			c.Group = e.value.Value
		case "limit":
			limit, valid := w.concurrencyLimit(e.value, field)
			ok = valid && ok
			c.Limit = limit
		default:
			w.unknownKey(e.key, path, concurrencyKeys)
			ok = false
		}
	}
	if group == nil {
		w.errorf(n, join(path, "group"), "missing; name the semaphore the job holds, such as group: deploy")
		return nil
	}
	if !ok {
		return nil
	}
	return c
}

// groupName checks a semaphore's name: it appears in API paths and messages.
func (w *walker) groupName(n *yaml.Node, path string) bool {
	if !validName(n.Value) {
		w.errorf(n, path, "%q is not a valid group name: %s", n.Value, nameRule)
		return false
	}
	return true
}

// concurrencyLimit reads `limit:`, a whole number from 1 to MaxConcurrencyLimit.
func (w *walker) concurrencyLimit(n *yaml.Node, path string) (int, bool) {
	if !isScalar(n) || !isInteger(n.Value) {
		what := describe(n)
		if isScalar(n) {
			what = strconv.Quote(n.Value)
		}
		w.errorf(n, path, "must be a whole number of jobs, at least 1, not %s", what)
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil { // out of range, as isInteger vouches for the digits
		v = MaxConcurrencyLimit + 1
		if strings.HasPrefix(n.Value, "-") {
			v = -1
		}
	}
	switch {
	case v < 1:
		w.errorf(n, path, "must be at least 1; with a limit of %s the job would never run", n.Value)
		return 0, false
	case v > MaxConcurrencyLimit:
		w.errorf(n, path, "must be at most %d", MaxConcurrencyLimit)
		return 0, false
	}
	return int(v), true
}
