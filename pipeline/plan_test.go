package pipeline

import (
	"reflect"
	"testing"
)

func TestOrder(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{{
		name: "no deps keeps file order",
		src:  "jobs: {c: {steps: [x]}, a: {steps: [x]}, b: {steps: [x]}}",
		want: []string{"c", "a", "b"},
	}, {
		name: "needs pull dependencies forward, file order among ready jobs",
		src: `jobs:
  deploy: {needs: [test, lint], steps: [x]}
  test: {needs: [build], steps: [x]}
  lint: {steps: [x]}
  build: {steps: [x]}
`,
		want: []string{"lint", "build", "test", "deploy"},
	}, {
		name: "stages order jobs without needs",
		src: `stages: [build, test, deploy]
jobs:
  ship: {stage: deploy, steps: [x]}
  unit: {stage: test, steps: [x]}
  early: {stage: deploy, needs: [], steps: [x]}
  compile: {stage: build, steps: [x]}
`,
		want: []string{"early", "compile", "unit", "ship"},
	}, {
		name: "diamond",
		src: `jobs:
  d: {needs: [b, c], steps: [x]}
  c: {needs: [a], steps: [x]}
  b: {needs: [a], steps: [x]}
  a: {steps: [x]}
`,
		want: []string{"a", "c", "b", "d"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, ".lathe.yml", tt.src)
			var got []string
			for _, j := range p.Order() {
				got = append(got, j.Name)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Order() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOrderKeepsJobsOfAHandBuiltCycle(t *testing.T) {
	p := &Pipeline{Jobs: []*Job{
		{Name: "a", Deps: []string{"b"}},
		{Name: "b", Deps: []string{"a"}},
		{Name: "c", Deps: []string{"missing"}},
	}}
	var got []string
	for _, j := range p.Order() {
		got = append(got, j.Name)
	}
	if want := []string{"c", "a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Order() = %v, want %v", got, want)
	}
}

func TestPipelineJob(t *testing.T) {
	p := mustParse(t, ".lathe.yml", "jobs: {a: {steps: [x]}, b: {steps: [y]}}")
	if j := p.Job("b"); j == nil || j.Steps[0].Run != "y" {
		t.Errorf("Job(b) = %+v", j)
	}
	if j := p.Job("nope"); j != nil {
		t.Errorf("Job(nope) = %+v, want nil", j)
	}
}
