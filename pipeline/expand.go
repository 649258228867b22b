package pipeline

import (
	"fmt"
	"strings"

	"github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline/expr"
)

// PlanInput is what a plan is made for: the event that starts the run and
// the parameters given for it (by name, as text; defaults fill the rest).
type PlanInput struct {
	Event  Event
	Params map[string]string
}

// Plan is a pipeline made concrete for one run (Zuul's frozen jobs): the
// jobs that will run, after extends, matrix expansion and conditions, with
// their dependencies, complete environment and everything else the server
// and `lathe exec` need, and the jobs left out with the reason.
type Plan struct {
	Pipeline string
	Stages   []string
	// ExternalStages are the stages an outside tool drives (see
	// Pipeline.ExternalStages).
	ExternalStages []string
	// Params are every parameter's value for the run, in declared order.
	Params []ParamValue
	// Jobs are the jobs to run, each after all its Deps. A job's Name is
	// its expanded name, Base its name in the file, Env the whole
	// environment it runs with. Jobs share slices with the pipeline's
	// definitions: treat them as read-only.
	Jobs []*Job
	// Skipped are the jobs (expanded names) left out, in file order.
	Skipped []Skipped
}

// Skipped is a job left out of a plan.
type Skipped struct {
	Job    string `json:"job"`
	Reason string `json:"reason"`
}

// Plan expands the pipeline for one run. It is the one function the server,
// `lathe exec` and `lathe plan` call, so they agree on what runs.
//
// A job whose `when` (or `if`) fails is left out, and so is every job that
// `needs` it, as GitHub and GitLab skip the dependents of a skipped job;
// jobs that wait for it only because it is in an earlier stage run without
// it. If the pipeline's own `when` fails, every job is left out. The
// environment of a job is, later entries winning: the pipeline's env, the
// parameters (PARAM_*), the matrix values (MATRIX_*), the job's env.
//
// The only error is a ParamErrors for bad parameters.
func (p *Pipeline) Plan(in PlanInput) (*Plan, error) {
	params, err := p.ParamValues(in.Params)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Pipeline: p.Name, Stages: p.Stages, ExternalStages: p.ExternalStages, Params: params, Jobs: make([]*Job, 0, len(p.Jobs))}
	ev := in.Event
	byParam := make(map[string]expr.Value, len(params))
	for _, v := range params {
		byParam[v.Name] = v.Value
	}
	lookup := func(env []lathe.EnvVar, combo []MatrixValue) func(string) (expr.Value, bool) {
		return func(name string) (expr.Value, bool) {
			root, rest, _ := strings.Cut(name, ".")
			switch root {
			case "params":
				v, ok := byParam[rest]
				return v, ok
			case "matrix":
				for _, mv := range combo {
					if mv.Name == rest {
						return expr.String(mv.Value), true
					}
				}
			case "env":
				for i := len(env) - 1; i >= 0; i-- {
					if env[i].Name == rest {
						return expr.String(env[i].Value), true
					}
				}
			}
			return expr.Value{}, false
		}
	}

	order := p.Order()
	if reason := p.When.Holds(&ev, func() *expr.Scope { return ev.scope(p.Name, lookup(p.Env, nil)) }); reason != "" {
		for _, j := range order {
			plan.Skipped = append(plan.Skipped, Skipped{Job: j.Name, Reason: "the pipeline's " + reason})
		}
		return plan, nil
	}

	base := MergeEnv(p.Env, paramEnv(p.Params, params))
	// planned maps a job's file name to the names of its expansions that
	// run; a job absent from it was left out entirely.
	planned := make(map[string][]string, len(p.Jobs))
	for _, j := range order {
		combos := [][]MatrixValue{nil}
		if j.Matrix != nil {
			combos = j.Matrix.Combinations()
		}
		deps, missing := expandDeps(j, planned)
		var names []string
		for _, combo := range combos {
			name := j.Name
			if combo != nil {
				name = matrixName(j.Name, combo)
			}
			if missing != "" {
				plan.Skipped = append(plan.Skipped, Skipped{Job: name, Reason: fmt.Sprintf("it needs %s, which is left out", missing)})
				continue
			}
			ownEnv := MergeEnv(p.Env, j.Env)
			if reason := j.When.Holds(&ev, func() *expr.Scope { return ev.scope(p.Name, lookup(ownEnv, combo)) }); reason != "" {
				plan.Skipped = append(plan.Skipped, Skipped{Job: name, Reason: reason})
				continue
			}
			cp := *j
			cp.Name, cp.Base, cp.Deps, cp.MatrixValues = name, j.Name, deps, combo
			cp.Env = MergeEnv(MergeEnv(base, matrixEnv(combo)), j.Env)
			cp.Steps = expandWith(matrixSteps(planSteps(j), combo), lookup(cp.Env, combo))
			cp.Container = expandContainer(j.Container, lookup(cp.Env, combo))
			cp.Approval = expandApproval(j.Approval, lookup(cp.Env, combo))
			plan.Jobs = append(plan.Jobs, &cp)
			names = append(names, name)
		}
		if names != nil {
			planned[j.Name] = names
		}
	}
	return plan, nil
}

// expandDeps turns a job's Deps (file names) into the expanded names that
// run. It returns the first job the job `needs` that was left out
// entirely, which leaves the job out too; deps that come only from stage
// order are dropped quietly when left out.
func expandDeps(j *Job, planned map[string][]string) (deps []string, missing string) {
	deps = []string{}
	for _, d := range j.Deps {
		if _, ok := ExternalStageOf(d); ok {
			deps = append(deps, d)
			continue
		}
		names, ok := planned[d]
		if !ok && j.Needs != nil {
			return nil, d
		}
		deps = append(deps, names...)
	}
	return deps, ""
}
