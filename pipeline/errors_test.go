package pipeline

import (
	"errors"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{File: ".lathe.yml", Line: 12, Column: 5, Field: "jobs.test.needs", Message: `unknown job "biuld"`},
			`.lathe.yml:12:5: jobs.test.needs: unknown job "biuld"`},
		{&Error{File: ".lathe/a.yml", Line: 1, Column: 1, Message: "file is empty"},
			".lathe/a.yml:1:1: file is empty"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorList(t *testing.T) {
	l := ErrorList{
		{File: "b.yml", Line: 1, Column: 1, Message: "b"},
		{File: "a.yml", Line: 3, Column: 1, Message: "a3"},
		{File: "a.yml", Line: 2, Column: 9, Message: "a2-9"},
		{File: "a.yml", Line: 2, Column: 4, Message: "a2-4"},
		{File: "a.yml", Line: 3, Column: 1, Message: "a3"},
	}
	err := l.err()
	want := "a.yml:2:4: a2-4\na.yml:2:9: a2-9\na.yml:3:1: a3\nb.yml:1:1: b"
	if err == nil || err.Error() != want {
		t.Errorf("err() = %v\nwant %s", err, want)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 4 {
		t.Errorf("err() is %T with %d entries, want an ErrorList of 4", err, len(list))
	}
	if err := (ErrorList{}).err(); err != nil {
		t.Errorf("empty list err() = %v, want nil", err)
	}
}

func TestParseReportsEveryError(t *testing.T) {
	files := []File{
		{Path: ".lathe/z.yml", Data: []byte(`name: bad name
stages: [build, test]
jobs:
  test:
    stage: test
    needs: [biuld, later]
    timeout: forever
    steps: []
  build:
    stage: build
    run: make
  later:
    stage: tset
    steps:
      - run:
`)},
		{Path: ".lathe.yml", Data: []byte("jobs:\n  a: {steps: [x], needs: b}\n")},
		{Path: ".lathe/ok.yml", Data: []byte("jobs: {a: {steps: [x]}}\n")},
	}
	got, err := Parse(files)
	if got != nil {
		t.Errorf("Parse returned %d pipelines alongside errors", len(got))
	}
	checkErrors(t, err, ".lathe/z.yml", []wantErr{
		{file: ".lathe.yml", line: 2, col: 26, field: "jobs.a.needs", msg: `unknown job "b"`},
		{line: 1, col: 7, field: "name", msg: `"bad name" is not a valid name`},
		{line: 6, col: 13, field: "jobs.test.needs", msg: `unknown job "biuld" (did you mean "build"?)`},
		{line: 7, col: 14, field: "jobs.test.timeout", msg: "must be a duration"},
		{line: 8, col: 12, field: "jobs.test.steps", msg: "at least one step"},
		{line: 9, col: 3, field: "jobs.build.steps", msg: "missing"},
		{line: 11, col: 5, field: "jobs.build.run", msg: `unknown key "run"`},
		{line: 13, col: 12, field: "jobs.later.stage", msg: `stage "tset" is not declared in stages [build test]`},
		{line: 15, col: 13, field: "jobs.later.steps[0].run", msg: "is empty"},
	})
}
