package pipeline

import (
	"strings"
)

// lint adds the warnings that need a whole, valid pipeline: parameters
// nothing uses, jobs that can never run, needs on conditional jobs, and
// upload names two jobs share or downloads no job uploads.
func (w *walker) lint(p *Pipeline, srcs []*jobSrc) {
	w.unusedParams(p)
	w.uploadNames(srcs)
	byName := make(map[string]*jobSrc, len(srcs))
	for _, s := range srcs {
		byName[s.job.Name] = s
	}
	for _, s := range srcs {
		w.neverRuns(p, s)
		for i, need := range s.job.Needs {
			if d := byName[need]; d != nil && d.job.When != nil && i < len(s.needs) {
				w.warnf(s.needs[i], join(s.path, "needs"), "%q runs only when its `when` holds; when it is left out, %s is left out too", need, s.job.Name)
			}
		}
	}
}

// unusedParams warns about a parameter that no condition reads, no
// command or env value mentions (as PARAM_NAME) and no {{ params.NAME }}
// of a `with:` value or a container field names.
func (w *walker) unusedParams(p *Pipeline) {
	used := make(map[string]bool)
	markCond := func(wh *When) {
		if wh == nil || wh.If == nil {
			return
		}
		for _, v := range wh.If.expr.Vars() {
			if name, ok := strings.CutPrefix(v.Name, "params."); ok {
				used[name] = true
			}
		}
	}
	var text strings.Builder
	for _, v := range p.Env {
		text.WriteString(v.Value + "\n")
	}
	markCond(p.When)
	for _, j := range p.Jobs {
		markCond(j.When)
		for _, v := range j.Env {
			text.WriteString(v.Value + "\n")
		}
		for _, s := range j.Steps {
			text.WriteString(s.Run + "\n")
			if s.Action != nil {
				for _, v := range s.Action.With {
					markRefs(used, withRef, v)
				}
			}
		}
		markContainerRefs(used, j.Container)
	}
	all := text.String()
	for _, prm := range p.Params {
		if !used[prm.Name] && !strings.Contains(all, prm.EnvName()) {
			w.warnf(prm.key, join("parameters", prm.Name), "parameter %q is never used: no condition reads params.%s and no command or env value mentions $%s", prm.Name, prm.Name, prm.EnvName())
		}
	}
}

// neverRuns warns about a job whose conditions can never all hold.
func (w *walker) neverRuns(p *Pipeline, s *jobSrc) {
	wh := s.job.When
	if wh == nil {
		return
	}
	if wh.If != nil && wh.If.Constant() && !wh.If.True(nil) {
		w.warnf(wh.If.node, join(s.path, "if"), "the condition is always false, so %s never runs", s.job.Name)
	}
	if wh.Events == nil {
		return
	}
	for _, ev := range wh.Events {
		if p.Triggers.enables(ev) {
			return
		}
	}
	w.warnf(s.key, join(s.path, "when.events"), "%s never runs: none of its events (%s) starts this pipeline; see `on:`", s.job.Name, strings.Join(wh.Events, ", "))
}
