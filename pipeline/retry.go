package pipeline

import (
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxRetries bounds `retry.count`: past a few tries a failure is real.
const MaxRetries = 10

// The failures a retry can be for.
const (
	RetryFailure        = "failure"        // a step exited non-zero
	RetryInfrastructure = "infrastructure" // the agent was lost or could not start the job
	RetryTimeout        = "timeout"        // the attempt ran past its timeout
)

var (
	retryOn   = []string{RetryFailure, RetryInfrastructure, RetryTimeout}
	retryKeys = []string{"count", "on"}
)

// Retry says how often a failed job is tried again, as a new attempt.
type Retry struct {
	// Count is how many more attempts a job gets, 0 to MaxRetries.
	Count int
	// On lists the failures that are retried; all three when not given.
	On []string
}

// retry reads `retry:`: a count, or {count, on}.
func (w *walker) retry(n *yaml.Node, path string) Retry {
	if n.Kind == yaml.ScalarNode {
		return Retry{Count: w.retryCount(n, path), On: retryOn}
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a number of retries or {count, on}, not %s", describe(n))
		return Retry{}
	}
	r := Retry{On: retryOn}
	var sawCount bool
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch e.key.Value {
		case "count":
			sawCount = true
			r.Count = w.retryCount(e.value, field)
		case "on":
			names, nodes := w.globs(e.value, field, "a kind of failure")
			r.On = nil
			for i, name := range names {
				switch {
				case !slices.Contains(retryOn, name):
					w.errorf(nodes[i], field, "unknown failure %q%s; use %s", name, w.didYouMean(name, retryOn), strings.Join(retryOn, ", "))
				case slices.Contains(r.On, name):
					w.errorf(nodes[i], field, "duplicate entry %q", name)
				default:
					r.On = append(r.On, name)
				}
			}
		default:
			w.unknownKey(e.key, path, retryKeys)
		}
	}
	if !sawCount {
		w.errorf(n, join(path, "count"), "missing; say how many times to retry, 1 to %d", MaxRetries)
	}
	return r
}

// retryCount reads a whole number from 0 to MaxRetries.
func (w *walker) retryCount(n *yaml.Node, path string) int {
	c, err := strconv.Atoi(n.Value)
	if !isScalar(n) || err != nil || c < 0 || c > MaxRetries {
		w.errorf(n, path, "must be a whole number from 0 to %d", MaxRetries)
		return 0
	}
	return c
}
