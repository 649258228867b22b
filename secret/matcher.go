package secret

// matcher is an Aho-Corasick automaton over a set of forms, compiled to a
// DFA so that scanning costs one table lookup per byte.
//
// Bytes are first mapped to classes (every byte that occurs in some form
// has its own class, all others share class 0), which keeps each state's
// row short. Rows are laid out one after another in delta, each followed
// by one extra cell holding the length of the longest form that ends in
// that state (0 when none does); states are named by the offset of their
// row, so stepping is st = delta[st+class[b]].
type matcher struct {
	class [256]int32
	width int32   // classes + 1 (the match cell)
	delta []int32 // rows of width cells
	depth []int32 // by state number (offset/width): how many trailing bytes may start a form
	// firstMatch is the first state at which some form ends: states are
	// numbered so that all such states come last, and the scan tests a
	// match with one comparison.
	firstMatch int32
	// maxLen is the longest form.
	maxLen int
}

func compile(forms []string) *matcher {
	m := &matcher{}
	ncls := int32(1)
	for _, f := range forms {
		for i := 0; i < len(f); i++ {
			if m.class[f[i]] == 0 {
				m.class[f[i]] = ncls
				ncls++
			}
		}
		m.maxLen = max(m.maxLen, len(f))
	}
	m.width = ncls + 1
	w := m.width
	newState := func(depth int32) int32 {
		off := int32(len(m.delta))
		for range w {
			m.delta = append(m.delta, -1)
		}
		m.delta[off+ncls] = 0
		m.depth = append(m.depth, depth)
		return off
	}
	newState(0)
	for _, f := range forms {
		st := int32(0)
		for i := 0; i < len(f); i++ {
			c := m.class[f[i]]
			next := m.delta[st+c]
			if next < 0 {
				next = newState(m.depth[st/w] + 1)
				m.delta[st+c] = next
			}
			st = next
		}
		m.delta[st+ncls] = max(m.delta[st+ncls], int32(len(f)))
	}
	// Breadth first: each state's failure state (the longest proper
	// suffix of its string that is a state too) is done before it.
	fail := make([]int32, len(m.depth))
	var queue []int32
	for c := int32(0); c < ncls; c++ {
		if t := m.delta[c]; t < 0 {
			m.delta[c] = 0
		} else {
			fail[t/w] = 0
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		st := queue[0]
		queue = queue[1:]
		f := fail[st/w]
		m.delta[st+ncls] = max(m.delta[st+ncls], m.delta[f+ncls])
		for c := int32(0); c < ncls; c++ {
			if t := m.delta[st+c]; t < 0 {
				m.delta[st+c] = m.delta[f+c]
			} else {
				fail[t/w] = m.delta[f+c]
				queue = append(queue, t)
			}
		}
	}
	m.renumber()
	return m
}

// renumber moves the states where a form ends after all the others.
func (m *matcher) renumber() {
	w := m.width
	n := int32(len(m.depth))
	ends := func(s int32) bool { return m.delta[s*w+w-1] != 0 }
	newNum := make([]int32, n)
	next := int32(0)
	for pass := range 2 {
		if pass == 1 {
			m.firstMatch = next * w
		}
		for s := range n {
			if ends(s) == (pass == 1) {
				newNum[s] = next
				next++
			}
		}
	}
	delta := make([]int32, len(m.delta))
	depth := make([]int32, n)
	for s := range n {
		row, old := delta[newNum[s]*w:], m.delta[s*w:]
		for c := range w - 1 {
			row[c] = newNum[old[c]/w] * w
		}
		row[w-1] = old[w-1]
		depth[newNum[s]] = m.depth[s]
	}
	m.delta, m.depth = delta, depth
}
