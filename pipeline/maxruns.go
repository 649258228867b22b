package pipeline

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// MaxMaxRuns bounds `max-runs`; more is no limit worth writing down.
const MaxMaxRuns = 1000

// maxRuns reads the top-level `max-runs:`: how many runs of the pipeline
// may be unfinished at once (Escape refuses a trigger while the pipeline
// "is still running"). 0, for an error, means no limit.
func (w *walker) maxRuns(n *yaml.Node, path string) int {
	v, err := strconv.Atoi(n.Value)
	if !isScalar(n) || n.Tag != "!!int" || err != nil || v < 1 || v > MaxMaxRuns {
		w.errorf(n, path, "must be a whole number of runs from 1 to %d, such as max-runs: 1 for one run at a time", MaxMaxRuns)
		return 0
	}
	return v
}
