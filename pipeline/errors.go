package pipeline

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a pipeline file, located precisely enough for an
// editor to jump to it.
type Error struct {
	// File is the path of the file as given to Parse or ParseFile.
	File string `json:"file"`
	// Line and Column are 1-based.
	Line   int `json:"line"`
	Column int `json:"column"`
	// Field is the dotted path of the offending value, such as
	// "jobs.test.needs" or "jobs.build.steps[0].run". It is empty for
	// problems with the file as a whole.
	Field string `json:"field"`
	// Message explains the problem in words a newcomer understands.
	Message string `json:"message"`
	// Severity is SeverityError (the zero value) for problems that stop a
	// pipeline from running, SeverityWarning for what [Lint] only warns
	// about.
	Severity Severity `json:"severity,omitempty"`
}

// Severity says whether a problem is an error or a warning.
type Severity string

// The severities.
const (
	SeverityError   Severity = ""
	SeverityWarning Severity = "warning"
)

// Error formats the problem as "FILE:LINE:COL: FIELD: MESSAGE", leaving out
// "FIELD: " when there is no field.
func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Column, e.Field, e.Message)
}

// ErrorList is every problem found in a set of pipeline files, sorted by
// file, line and column. Parse and ParseFile return one whenever they fail.
type ErrorList []*Error

// Error joins the problems, one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sorted returns the list ordered by file, line and column with exact
// duplicates removed. Duplicates arise when an aliased node is reached twice.
func (l ErrorList) sorted() ErrorList {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	out := l[:0]
	seen := make(map[Error]bool, len(l))
	for _, e := range l {
		if seen[*e] {
			continue
		}
		seen[*e] = true
		out = append(out, e)
	}
	return out
}

// err returns the list as an error, or nil when it is empty, so callers never
// see a non-nil error holding an empty list.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l.sorted()
}
