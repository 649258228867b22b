package web

import (
	"fmt"
	"html"
	"html/template"
	"slices"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// The job graph is laid out on the server, as SVG: one column per stage,
// a job's box in its stage's column, and an edge from each job a job
// needs to it. It needs no script and no layout library, and a run of
// hundreds of jobs renders in well under a millisecond.

const (
	nodeW, nodeH = 200, 40
	colGap       = 56
	rowGap       = 12
	pad          = 18 // room for edges within a stage, left of the boxes
	maxLabel     = 24
)

type graphNode struct {
	Job        *lathe.Job
	X, Y       int
	Label      string
	TextX      int
	TextY      int
	DurY       int
	Truncated  bool
	StatusSym  string
	StatusWord string
	Dur        string
}

type graphEdge struct {
	Path     string
	From, To int64
}

type graph struct {
	Width, Height int
	Nodes         []graphNode
	Edges         []graphEdge
	Columns       []graphColumn
}

type graphColumn struct {
	Name string
	X    int
}

func layoutGraph(run *lathe.Run) graph {
	stages := slices.Clone(run.Stages)
	slices.SortStableFunc(stages, func(a, b *lathe.Stage) int { return a.Position - b.Position })
	col := map[int64]int{}
	var g graph
	for i, s := range stages {
		col[s.ID] = i
		g.Columns = append(g.Columns, graphColumn{Name: s.Name, X: pad + i*(nodeW+colGap)})
	}
	rows := make([]int, len(stages))
	pos := map[string]*graphNode{}
	top := pad + 20 // room for the stage names
	for _, j := range run.Jobs {
		c, ok := col[j.StageID]
		if !ok {
			continue
		}
		label := j.Name
		runes := []rune(label)
		n := graphNode{Job: j, X: pad + c*(nodeW+colGap), Y: top + rows[c]*(nodeH+rowGap)}
		if len(runes) > maxLabel {
			label, n.Truncated = string(runes[:maxLabel-1])+"…", true
		}
		st := status(j.Status)
		n.Label, n.StatusSym, n.StatusWord, n.Dur = label, st.Symbol, st.Label, duration(j.DurationMS)
		n.TextX, n.TextY, n.DurY = n.X+8, n.Y+17, n.Y+33
		rows[c]++
		g.Nodes = append(g.Nodes, n)
	}
	for i := range g.Nodes {
		pos[g.Nodes[i].Job.Name] = &g.Nodes[i]
	}
	for _, to := range g.Nodes {
		if len(to.Job.Needs) == 0 {
			continue // the stage order says it; only needs are drawn
		}
		for _, dep := range to.Job.Deps {
			from, ok := pos[dep]
			if !ok {
				continue
			}
			e := graphEdge{From: from.Job.ID, To: to.Job.ID}
			if from.X == to.X { // in one stage: down the left side
				x, y1, y2 := from.X+4, from.Y+nodeH/2, to.Y+nodeH/2
				e.Path = fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x, y1, x-14, y1, x-14, y2, x, y2)
			} else if x1, x2 := from.X+nodeW, to.X; x2-x1 == colGap { // to the next stage
				y1, y2 := from.Y+nodeH/2, to.Y+nodeH/2
				mid := (x1 + x2) / 2
				e.Path = fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, mid, y1, mid, y2, x2, y2)
			} else {
				// Past the stages between, along the gap above the target's
				// row, which no box takes: a line through their boxes would
				// read as a need of the job it passes behind.
				y1, y2, gap := from.Y+nodeH/2, to.Y+nodeH/2, to.Y-rowGap/2
				a, b := x1+colGap/2, x2-colGap/2
				m1, m2 := (x1+a)/2, (b+x2)/2
				e.Path = fmt.Sprintf("M%d %d C%d %d %d %d %d %d H%d C%d %d %d %d %d %d", x1, y1, m1, y1, m1, gap, a, gap, b, m2, gap, m2, y2, x2, y2)
			}
			g.Edges = append(g.Edges, e)
		}
	}
	maxRows := 0
	for _, r := range rows {
		maxRows = max(maxRows, r)
	}
	g.Width = pad*2 + len(stages)*(nodeW+colGap) - colGap
	g.Height = top + maxRows*(nodeH+rowGap) + pad
	return g
}

// svg writes the graph as SVG. It is written here rather than by the
// template because a run of hundreds of jobs would spend most of its page's
// time in the template's per-attribute escaping; every text and attribute
// that comes from a job or stage goes through html.EscapeString, the rest
// are numbers and fixed words (statuses).
func (g graph) SVG() template.HTML {
	var b strings.Builder
	b.Grow(400 * (len(g.Nodes) + 1))
	fmt.Fprintf(&b, `<svg class="graph" width="%d" height="%d" viewBox="0 0 %d %d" role="group" aria-label="Jobs by stage, with arrows from each job to the jobs that need it">`,
		g.Width, g.Height, g.Width, g.Height)
	for _, c := range g.Columns {
		fmt.Fprintf(&b, `<text class="col" x="%d" y="14">%s</text>`, c.X, html.EscapeString(c.Name))
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, `<path class="edge" d="%s" data-from="%d" data-to="%d"/>`, e.Path, e.From, e.To)
	}
	for _, n := range g.Nodes {
		st := html.EscapeString(string(n.Job.Status))
		fmt.Fprintf(&b, `<a href="/jobs/%d" class="node st-%s" data-job="%d" data-status="%s"><title>%s: %s</title>`+
			`<rect x="%d" y="%d" width="%d" height="%d" rx="6"/>`+
			`<text x="%d" y="%d"><tspan class="sym" data-sym>%s</tspan> %s</text>`+
			`<text class="dur" x="%d" y="%d"><tspan data-word>%s</tspan> <tspan data-dur>%s</tspan></text></a>`,
			n.Job.ID, st, n.Job.ID, st, html.EscapeString(n.Job.Name), html.EscapeString(n.StatusWord),
			n.X, n.Y, nodeW, nodeH,
			n.TextX, n.TextY, n.StatusSym, html.EscapeString(n.Label),
			n.TextX, n.DurY, html.EscapeString(n.StatusWord), n.Dur)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
