package pipeline

import (
	"errors"
	"strings"
	"testing"
)

// wantErr is one expected problem: exact position and field, and a
// substring of the message.
type wantErr struct {
	file      string // defaults to the file under test
	line, col int
	field     string
	msg       string
}

// checkErrors asserts that err is an ErrorList holding exactly want, in order.
func checkErrors(t *testing.T, err error, file string, want []wantErr) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error = %v (%T), want an ErrorList", err, err)
	}
	if len(list) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(list), len(want), list)
	}
	for i, w := range want {
		got := list[i]
		if w.file == "" {
			w.file = file
		}
		if got.File != w.file || got.Line != w.line || got.Column != w.col || got.Field != w.field || !strings.Contains(got.Message, w.msg) {
			t.Errorf("error %d = %q\nwant %s:%d:%d: %s: …%s…", i, got.Error(), w.file, w.line, w.col, w.field, w.msg)
		}
	}
}

// mustParse parses one file and fails the test on any error.
func mustParse(t *testing.T, file, src string) *Pipeline {
	t.Helper()
	p, err := ParseFile(file, []byte(src))
	if err != nil {
		t.Fatalf("ParseFile(%s): %v", file, err)
	}
	return p
}
