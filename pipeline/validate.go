package pipeline

import (
	"strings"
)

// checkNeeds checks every job's `needs` against the other jobs: each entry
// must name another existing job, once, that does not run in a later stage,
// and the needs must not form a cycle.
func (w *walker) checkNeeds(srcs []*jobSrc, st stages) {
	if w.exhausted {
		return
	}
	byName := make(map[string]int, len(srcs))
	names := make([]string, 0, len(srcs))
	for i, s := range srcs {
		if _, dup := byName[s.job.Name]; !dup {
			byName[s.job.Name] = i
			names = append(names, s.job.Name)
		}
	}
	// edges[i] lists the jobs job i validly needs, as written.
	edges := make([][]int, len(srcs))
	for i, s := range srcs {
		field := join(s.path, "needs")
		seen := make(map[string]bool, len(s.job.Needs))
		for k, need := range s.job.Needs {
			at := s.needs[k]
			j, known := byName[need]
			switch {
			case seen[need]:
				w.errorf(at, field, "duplicate entry %q", need)
			case need == s.job.Name:
				w.errorf(at, field, "a job cannot need itself")
			case !known:
				if base, _, expansion := strings.Cut(need, " ("); expansion {
					if _, ok := byName[base]; ok {
						w.errorf(at, field, "unknown job %q: needs names a job as written (%q), and waits for every expansion of its matrix", need, base)
						break
					}
				}
				w.errorf(at, field, "unknown job %q%s", need, w.didYouMean(need, names))
			case st.declared && s.stage >= 0 && srcs[j].stage > s.stage:
				w.errorf(at, field, "needs %q, which runs in a later stage (%s comes after %s)", need, srcs[j].job.Stage, s.job.Stage)
			default:
				edges[i] = append(edges[i], j)
			}
			seen[need] = true
		}
	}
	for _, cycle := range cycles(edges) {
		start := srcs[cycle[0]]
		path := make([]string, 0, len(cycle)+1)
		for _, i := range cycle {
			path = append(path, srcs[i].job.Name)
		}
		path = append(path, start.job.Name)
		w.errorf(start.key, join(start.path, "needs"), "cycle in needs: %s", strings.Join(path, " -> "))
	}
}

// setDeps fills each job's Deps: its needs when given, otherwise every job
// of every earlier stage, in stage order and then file order.
func setDeps(p *Pipeline, srcs []*jobSrc, st stages) {
	byStage := make([][]string, len(st.names))
	for _, s := range srcs {
		if s.stage >= 0 && s.stage < len(byStage) {
			byStage[s.stage] = append(byStage[s.stage], s.job.Name)
		}
	}
	for _, s := range srcs {
		s.job.Deps = []string{}
		if s.job.Needs != nil {
			s.job.Deps = append(s.job.Deps, s.job.Needs...)
			continue
		}
		for stage := 0; stage < s.stage && stage < len(byStage); stage++ {
			s.job.Deps = append(s.job.Deps, byStage[stage]...)
			if name := st.names[stage]; st.external[name] {
				s.job.Deps = append(s.job.Deps, ExternalDep(name))
			}
		}
	}
}
