package pipeline

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline/expr"
)

// A tool step's `with:` values may hold `{{ params.NAME }}`,
// `{{ matrix.AXIS }}` and `{{ env.NAME }}`, replaced in the plan by the
// run's parameter, the expansion's matrix value and the job's environment
// variable (which holds the pipeline's env, PARAM_* and MATRIX_* too), as
// the job's commands see them through $PARAM_NAME and $MATRIX_AXIS. A name
// the job does not have is replaced by "", as a shell does an unset
// variable; the tool's parameter types are checked after the replacement.
var withRef = regexp.MustCompile(`\{\{\s*(params|matrix|env)\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}`)

// checkWithValue refuses a `with:` value with anything else between {{ and }}.
func checkWithValue(v string) bool {
	return !strings.Contains(withRef.ReplaceAllString(v, ""), "{{")
}

// expandWith replaces the references in the `with:` values of steps,
// looking names up as the plan's conditions do.
func expandWith(steps []lathe.StepDef, lookup func(string) (expr.Value, bool)) []lathe.StepDef {
	var out []lathe.StepDef
	for i, st := range steps {
		a := st.Action
		if a == nil || a.Kind != ActionTool || !slices.ContainsFunc(slices.Collect(maps.Values(a.With)), withRef.MatchString) {
			continue
		}
		if out == nil {
			out = slices.Clone(steps)
		}
		cp := *a
		cp.With = make(map[string]string, len(a.With))
		for k, v := range a.With {
			cp.With[k] = replaceRefs(v, lookup)
		}
		out[i].Action = &cp
	}
	if out == nil {
		return steps
	}
	return out
}

// replaceRefs replaces v's references, looking names up as the plan's
// conditions do; a name the job does not have becomes "".
func replaceRefs(v string, lookup func(string) (expr.Value, bool)) string {
	return withRef.ReplaceAllStringFunc(v, func(ref string) string {
		m := withRef.FindStringSubmatch(ref)
		if val, ok := lookup(m[1] + "." + m[2]); ok {
			return val.Text()
		}
		return ""
	})
}

// expandApproval replaces the references in a gate's message, as in a
// tool step's with: values: "Deploy to {{ matrix.env }}?" asks about the
// expansion's own environment.
func expandApproval(a *Approval, lookup func(string) (expr.Value, bool)) *Approval {
	if a == nil || !withRef.MatchString(a.Message) {
		return a
	}
	cp := *a
	cp.Message = replaceRefs(a.Message, lookup)
	return &cp
}
