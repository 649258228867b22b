package pipeline

import (
	"slices"
	"strconv"
	"strings"

	"github.com/lathe-ci/lathe"
	"go.yaml.in/yaml/v3"
)

// The built-in actions a step may be instead of a command.
const (
	ActionCheckout = lathe.ActionCheckout
	ActionUpload   = lathe.ActionUpload
	ActionDownload = lathe.ActionDownload
)

// MaxCheckoutDepth bounds `checkout.depth`.
const MaxCheckoutDepth = 1_000_000

var (
	actionKinds  = []string{ActionCheckout, ActionUpload, ActionDownload}
	checkoutKeys = []string{"depth"}
	uploadKeys   = []string{"name", "paths"}
	downloadKeys = []string{"name"}
)

// Action is a built-in step: the agent does it itself rather than running
// a command, so it works the same on every executor. It is the step's own
// StepDef.Action, so agents and `lathe exec` read it where the parser put it.
type Action = lathe.StepAction

// action reads the settings of a built-in action step.
func (w *walker) action(kind string, n *yaml.Node, path string) *Action {
	a := &Action{Kind: kind}
	known := map[string][]string{ActionCheckout: checkoutKeys, ActionUpload: uploadKeys, ActionDownload: downloadKeys}[kind]
	if n.Kind != yaml.MappingNode && !isNull(n) {
		w.errorf(n, path, "must be a map of settings (%s), not %s", strings.Join(known, ", "), describe(n))
		return a
	}
	var sawName, sawPaths bool
	if n.Kind == yaml.MappingNode {
		for _, e := range w.entries(n, path) {
			field := join(path, e.key.Value)
			switch {
			case !slices.Contains(known, e.key.Value):
				w.unknownKey(e.key, path, known)
			case e.key.Value == "depth":
				d, err := strconv.Atoi(e.value.Value)
				if !isScalar(e.value) || err != nil || d < 0 || d > MaxCheckoutDepth {
					w.errorf(e.value, field, "must be a whole number of commits (0 for the full history)")
					continue
				}
				a.Depth = d
			case e.key.Value == "name":
				sawName = true
				if !isScalar(e.value) {
					w.errorf(e.value, field, "must be a name for the files (%s)", nameRule)
					continue
				}
				// The server's rule, so a file that lints is one it stores.
				if err := checkUploadNameTemplate(e.value.Value); err != nil {
					w.errorf(e.value, field, "must be a name for the files (%s): %v", nameRule, err)
					continue
				}
				a.Name = e.value.Value
				if w.actionNames == nil {
					w.actionNames = map[*Action]*yaml.Node{}
				}
				w.actionNames[a] = e.value
			case e.key.Value == "paths":
				sawPaths = true
				a.Paths = w.relGlobs(e.value, field)
			}
		}
	}
	if kind != ActionCheckout && !sawName {
		w.errorf(n, join(path, "name"), "missing; name the files so a later job can %s them", map[bool]string{true: "download", false: "find"}[kind == ActionUpload])
	}
	if kind == ActionUpload && !sawPaths {
		w.errorf(n, join(path, "paths"), "missing; list the files to upload, as in `paths: [dist/**]`")
	}
	return a
}
