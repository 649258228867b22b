package pipeline

// Order returns the jobs in an order where every job comes after all its
// Deps. Among jobs that are ready at the same time, file order wins, so the
// plan is stable. Parse only returns pipelines without cycles; should a
// hand-built pipeline have one, the jobs caught in it come last in file
// order rather than being dropped.
func (p *Pipeline) Order() []*Job {
	pos := make(map[string]int, len(p.Jobs))
	for i, j := range p.Jobs {
		if _, dup := pos[j.Name]; !dup {
			pos[j.Name] = i
		}
	}
	// waiting[i] counts job i's unplaced deps; dependents[i] lists the jobs
	// that wait for job i.
	waiting := make([]int, len(p.Jobs))
	dependents := make([][]int, len(p.Jobs))
	for i, j := range p.Jobs {
		for _, d := range j.Deps {
			if k, ok := pos[d]; ok && k != i {
				waiting[i]++
				dependents[k] = append(dependents[k], i)
			}
		}
	}
	placed := make([]bool, len(p.Jobs))
	order := make([]*Job, 0, len(p.Jobs))
	// ready is kept sorted by file position; pipelines are small enough that
	// insertion into a slice beats a heap for clarity.
	var ready []int
	for i := range p.Jobs {
		if waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		i := ready[0]
		ready = ready[1:]
		placed[i] = true
		order = append(order, p.Jobs[i])
		for _, k := range dependents[i] {
			waiting[k]--
			if waiting[k] == 0 {
				ready = insertSorted(ready, k)
			}
		}
	}
	for i, j := range p.Jobs {
		if !placed[i] {
			order = append(order, j)
		}
	}
	return order
}

// insertSorted inserts v into the ascending slice s.
func insertSorted(s []int, v int) []int {
	at := len(s)
	for at > 0 && s[at-1] > v {
		at--
	}
	s = append(s, 0)
	copy(s[at+1:], s[at:])
	s[at] = v
	return s
}
