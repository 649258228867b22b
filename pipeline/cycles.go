package pipeline

// cycles finds the cycles of a dependency graph, one per strongly connected
// component with more than one node. Each cycle starts at the component's
// lowest node (the first job in file order) and follows edges in the order
// they were written, so the report is stable. Self-loops are not reported;
// the caller rejects them earlier.
func cycles(edges [][]int) [][]int {
	var out [][]int
	for _, comp := range components(edges) {
		if len(comp) < 2 {
			continue
		}
		in := make(map[int]bool, len(comp))
		start := comp[0]
		for _, v := range comp {
			in[v] = true
			start = min(start, v)
		}
		out = append(out, cycleFrom(start, edges, in))
	}
	// Report cycles in file order of their first job.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j][0] < out[j-1][0]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// cycleFrom returns a simple cycle through start that stays inside the
// strongly connected component in. One exists because in is strongly
// connected. The walk is iterative so deep graphs cannot exhaust the stack.
func cycleFrom(start int, edges [][]int, in map[int]bool) []int {
	type frame struct{ node, next int }
	visited := map[int]bool{start: true}
	stack := []frame{{node: start}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next == len(edges[top.node]) {
			stack = stack[:len(stack)-1]
			continue
		}
		to := edges[top.node][top.next]
		top.next++
		if to == start {
			path := make([]int, len(stack))
			for i, f := range stack {
				path[i] = f.node
			}
			return path
		}
		if in[to] && !visited[to] {
			visited[to] = true
			stack = append(stack, frame{node: to})
		}
	}
	return []int{start}
}

// components returns the strongly connected components of the graph using
// an iterative form of Tarjan's algorithm.
func components(edges [][]int) [][]int {
	n := len(edges)
	indexOf := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range indexOf {
		indexOf[i] = -1
	}
	var (
		comps [][]int
		stack []int
		next  int
	)
	type frame struct{ node, edge int }
	for root := 0; root < n; root++ {
		if indexOf[root] >= 0 {
			continue
		}
		call := []frame{{node: root}}
		indexOf[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			top := &call[len(call)-1]
			v := top.node
			if top.edge < len(edges[v]) {
				w := edges[v][top.edge]
				top.edge++
				switch {
				case indexOf[w] < 0:
					indexOf[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{node: w})
				case onStack[w]:
					low[v] = min(low[v], indexOf[w])
				}
				continue
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				parent := call[len(call)-1].node
				low[parent] = min(low[parent], low[v])
			}
			if low[v] == indexOf[v] {
				var comp []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				comps = append(comps, comp)
			}
		}
	}
	return comps
}
