package pipeline

import (
	"go.yaml.in/yaml/v3"
)

var reportKeys = []string{"junit", "issues"}

// Reports declares the result files a job writes, which the agent sends to
// the server after the steps (whether they passed or not).
type Reports struct {
	// JUnit are globs of JUnit XML files (go-junit-report, pytest,
	// Maven surefire and the like).
	JUnit []string
	// Issues are globs of findings files: SARIF (JSON), or lines in the
	// compiler format `file:line:col: message` (the server tells them
	// apart by their content).
	Issues []string
}

// reports reads `reports:`, a map such as {junit: ["**/junit*.xml"], issues: [vet.txt]}.
func (w *walker) reports(n *yaml.Node, path string) *Reports {
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a map such as {junit: [\"reports/*.xml\"], issues: [lint.sarif]}, not %s", describe(n))
		return nil
	}
	r := &Reports{}
	for _, e := range w.entries(n, path) {
		switch e.key.Value {
		case "junit":
			r.JUnit = w.relGlobs(e.value, join(path, "junit"))
		case "issues":
			r.Issues = w.relGlobs(e.value, join(path, "issues"))
		default:
			w.unknownKey(e.key, path, reportKeys)
		}
	}
	return r
}
