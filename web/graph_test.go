package web

import (
	"strconv"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
)

func TestGraphEscapesNamesAndDrawsNeeds(t *testing.T) {
	run := &lathe.Run{
		Stages: []*lathe.Stage{{ID: 1, Name: "build", Position: 0}, {ID: 2, Name: `<test>`, Position: 1}},
		Jobs: []*lathe.Job{
			{ID: 10, StageID: 1, Name: "compile", Status: lathe.StatusSuccess},
			{ID: 11, StageID: 2, Name: `unit "<script>alert(1)</script>"`, Status: lathe.StatusRunning, Needs: []string{"compile"}, Deps: []string{"compile"}},
			{ID: 12, StageID: 2, Name: "lint", Status: lathe.StatusQueued, Deps: []string{"compile"}},
		},
	}
	g := layoutGraph(run)
	svg := string(g.SVG())
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "<test>") {
		t.Fatalf("a name reached the SVG unescaped:\n%s", svg)
	}
	if len(g.Edges) != 1 || g.Edges[0].From != 10 || g.Edges[0].To != 11 {
		t.Fatalf("edges %+v: want one, compile → unit (lint has no needs: the stage order says it)", g.Edges)
	}
	for _, want := range []string{`href="/jobs/11"`, `class="node st-running"`, "&lt;test&gt;", `data-from="10" data-to="11"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %s:\n%s", want, svg)
		}
	}
}

// A need that skips a stage is drawn around the boxes of the stages
// between, not through them (where it would read as a need of the job it
// passes behind).
func TestGraphEdgePastAStageMissesItsBoxes(t *testing.T) {
	run := &lathe.Run{
		Stages: []*lathe.Stage{{ID: 1, Name: "build", Position: 0}, {ID: 2, Name: "test", Position: 1}, {ID: 3, Name: "deploy", Position: 2}},
		Jobs: []*lathe.Job{
			{ID: 10, StageID: 1, Name: "compile"},
			{ID: 11, StageID: 1, Name: "docs"},
			{ID: 20, StageID: 2, Name: "unit", Needs: []string{"compile"}, Deps: []string{"compile"}},
			{ID: 21, StageID: 2, Name: "lint", Needs: []string{"compile"}, Deps: []string{"compile"}},
			{ID: 30, StageID: 3, Name: "ship", Needs: []string{"compile"}, Deps: []string{"compile"}},
			{ID: 31, StageID: 3, Name: "notes", Needs: []string{"docs"}, Deps: []string{"docs"}},
		},
	}
	g := layoutGraph(run)
	if len(g.Edges) != 4 {
		t.Fatalf("edges %+v", g.Edges)
	}
	for _, e := range g.Edges {
		pts := pathPoints(t, e.Path)
		for _, n := range g.Nodes {
			if n.Job.ID == e.From || n.Job.ID == e.To {
				continue
			}
			for _, p := range pts {
				if p[0] > float64(n.X) && p[0] < float64(n.X+nodeW) && p[1] > float64(n.Y) && p[1] < float64(n.Y+nodeH) {
					t.Errorf("the edge %d → %d (%s) crosses the box of %s at %v", e.From, e.To, e.Path, n.Job.Name, p)
					break
				}
			}
		}
	}
}

// pathPoints samples an SVG path of M, C and H commands (what layoutGraph
// draws) at many points.
func pathPoints(t *testing.T, path string) [][2]float64 {
	t.Helper()
	var pts [][2]float64
	var cur [2]float64
	fields := strings.FieldsFunc(path, func(r rune) bool { return r == ' ' })
	num := func(i int) float64 {
		f, err := strconv.ParseFloat(strings.TrimLeft(fields[i], "MCH"), 64)
		if err != nil {
			t.Fatalf("path %q: %v", path, err)
		}
		return f
	}
	for i := 0; i < len(fields); {
		switch fields[i][0] {
		case 'M':
			cur = [2]float64{num(i), num(i + 1)}
			i += 2
		case 'H':
			to := num(i)
			for k := 0; k <= 50; k++ {
				pts = append(pts, [2]float64{cur[0] + (to-cur[0])*float64(k)/50, cur[1]})
			}
			cur[0] = to
			i++
		case 'C':
			c := [4][2]float64{cur, {num(i), num(i + 1)}, {num(i + 2), num(i + 3)}, {num(i + 4), num(i + 5)}}
			for k := 0; k <= 50; k++ {
				s := float64(k) / 50
				var p [2]float64
				for d := range 2 {
					p[d] = (1-s)*(1-s)*(1-s)*c[0][d] + 3*(1-s)*(1-s)*s*c[1][d] + 3*(1-s)*s*s*c[2][d] + s*s*s*c[3][d]
				}
				pts = append(pts, p)
			}
			cur = c[3]
			i += 6
		default:
			t.Fatalf("path %q: unknown command at %q", path, fields[i])
		}
	}
	return pts
}
