package pipeline

import (
	"strings"
	"testing"
)

func TestParseFileErrorsFile(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "syntax error from the scanner",
		src:  "jobs:\n  a: 1\n   b: 2\n",
		want: []wantErr{{line: 3, col: 1, msg: "not valid YAML: mapping values are not allowed"}},
	}, {
		name: "syntax error from the parser",
		src:  "jobs:\n  a: [1\n",
		want: []wantErr{{line: 2, col: 1, msg: "not valid YAML: did not find expected ',' or ']'"}},
	}, {
		name: "tab indentation",
		src:  "jobs:\n\ta: 1\n",
		want: []wantErr{{line: 2, col: 1, msg: "not valid YAML: found character that cannot start any token"}},
	}, {
		name: "binary data",
		src:  "\x00\x01\x02",
		want: []wantErr{{line: 1, col: 1, msg: "not valid YAML: control characters are not allowed"}},
	}, {
		name: "unknown alias",
		src:  "jobs: *nope\n",
		want: []wantErr{{line: 1, col: 1, msg: "not valid YAML: unknown anchor 'nope'"}},
	}, {
		name: "empty file",
		src:  "",
		want: []wantErr{{line: 1, col: 1, msg: "file is empty"}},
	}, {
		name: "only comments",
		src:  "# nothing yet\n",
		want: []wantErr{{line: 1, col: 1, msg: "file is empty"}},
	}, {
		name: "only null",
		src:  "~\n",
		want: []wantErr{{line: 1, col: 1, msg: "file is empty"}},
	}, {
		name: "top level is a list",
		src:  "- jobs\n",
		want: []wantErr{{line: 1, col: 1, msg: "the top level must be a map with keys such as name, stages and jobs, not a list"}},
	}, {
		name: "top level is a string",
		src:  "\n  just words\n",
		want: []wantErr{{line: 2, col: 3, msg: "the top level must be a map with keys such as name, stages and jobs, not a string"}},
	}, {
		name: "two documents",
		src:  "jobs: {a: {steps: [x]}}\n---\njobs: {b: {steps: [y]}}\n",
		want: []wantErr{{line: 2, col: 1, msg: "more than one YAML document"}},
	}, {
		name: "syntax error in a second document",
		src:  "jobs: {a: {steps: [x]}}\n---\njobs: [\n",
		want: []wantErr{{line: 4, col: 1, msg: "not valid YAML: did not find expected node content"}},
	}, {
		name: "file over 1 MiB",
		src:  "jobs: {a: {steps: [x]}}\n" + strings.Repeat("#", MaxFileSize),
		want: []wantErr{{line: 1, col: 1, msg: "pipeline files are limited to 1048576 bytes (1 MiB)"}},
	}})
}

func TestParseFileYAMLLimits(t *testing.T) {
	// Just under the size limit and well under the node budget is fine.
	src := "jobs: {a: {steps: [x]}}\n" + strings.Repeat("#", MaxFileSize-25) + "\n"
	if len(src) != MaxFileSize {
		t.Fatalf("test file is %d bytes", len(src))
	}
	mustParse(t, ".lathe.yml", src)
}
