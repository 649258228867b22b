package pipeline

import (
	"slices"

	"go.yaml.in/yaml/v3"
)

// How a pipeline's runs are numbered (`numbering:`).
const (
	// NumberingPerPipeline numbers all the pipeline's runs from one
	// sequence (the default).
	NumberingPerPipeline = "per-pipeline"
	// NumberingPerBranch numbers the runs of each branch from the branch's
	// own sequence; runs on no branch (tags, commits, pull requests) take
	// the pipeline's.
	NumberingPerBranch = "per-branch"
)

var numberings = []string{NumberingPerPipeline, NumberingPerBranch}

// numbering reads the top-level `numbering:` and says whether it is per
// branch.
func (w *walker) numbering(n *yaml.Node, path string) bool {
	if !isScalar(n) || n.Tag != "!!str" || !slices.Contains(numberings, n.Value) {
		w.errorf(n, path, "must be per-pipeline (one sequence of run numbers, the default) or per-branch (one per branch), not %s",
			describe(n))
		return false
	}
	return n.Value == NumberingPerBranch
}
