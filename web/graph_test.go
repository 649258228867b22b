package web

import (
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
