package pipeline

import (
	"fmt"
	"strings"
	"testing"
)

// benchFile is a pipeline of 474 plain jobs in three stages plus one job
// with a 3×3×3 matrix: 501 jobs once expanded, with conditions, extends
// and needs, as issue 4's benchmark asks.
func benchFile() []byte {
	var b strings.Builder
	b.WriteString("parameters: {target: {type: choice, choices: [a, b], default: a}}\nstages: [build, test, deploy]\n")
	b.WriteString("templates:\n  base: {runs-on: linux, env: {A: \"1\"}, retry: 1}\njobs:\n")
	b.WriteString("  m:\n    stage: test\n    extends: base\n    matrix: {x: [1, 2, 3], y: [a, b, c], z: [p, q, r]}\n    if: matrix.x != \"3\" || branch == \"main\"\n    steps: [make]\n")
	for i := 0; i < 474; i++ {
		stage := []string{"build", "test", "deploy"}[i%3]
		fmt.Fprintf(&b, "  j%d:\n    stage: %s\n    extends: base\n    env: {N: \"%d\"}\n", i, stage, i)
		if stage == "deploy" {
			fmt.Fprintf(&b, "    needs: [m, j%d]\n    when: {branches: [main, \"release/*\"], paths: [\"src/**\"], if: params.target == \"a\"}\n", i-1)
		}
		b.WriteString("    steps: [\"go build ./...\", \"go test ./...\"]\n")
	}
	return []byte(b.String())
}

// BenchmarkParsePlan parses and plans the 501-job pipeline; the target is
// 50 ms per iteration.
func BenchmarkParsePlan(b *testing.B) {
	data := benchFile()
	in := PlanInput{Event: Event{Kind: EventPush, Branch: "main", Changed: []string{"src/a.go"}}}
	b.ReportAllocs()
	for b.Loop() {
		p, err := ParseFile(".lathe.yml", data)
		if err != nil {
			b.Fatal(err)
		}
		plan, err := p.Plan(in)
		if err != nil {
			b.Fatal(err)
		}
		if len(plan.Jobs) != 501 {
			b.Fatalf("%d jobs, want 501", len(plan.Jobs))
		}
	}
}
