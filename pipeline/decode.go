package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds one pipeline file; anything larger is surely a mistake
// (a generated file, a binary) and would only slow the server. The server
// checks a file's size in git before reading it (see TooLarge).
const MaxFileSize = 1 << 20

// TooLarge is the problem of a pipeline file of size bytes over MaxFileSize,
// for a reader that knows the size without reading the file.
func TooLarge(file string, size int64) *Error {
	return &Error{File: file, Line: 1, Column: 1,
		Message: fmt.Sprintf("file is %d bytes; pipeline files are limited to %d bytes (1 MiB)", size, MaxFileSize)}
}

// yamlLine pulls the line number out of the YAML library's error text, which
// is the only place it reports one ("yaml: line 3: ...").
var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`) })

// decode parses data as exactly one YAML document and returns its root value.
// A nil root means there is nothing to walk; the errors say why.
func decode(file string, data []byte) (*yaml.Node, ErrorList) {
	at := func(line int, format string, args ...any) ErrorList {
		return ErrorList{{File: file, Line: line, Column: 1, Message: fmt.Sprintf(format, args...)}}
	}
	if len(data) > MaxFileSize {
		return nil, ErrorList{TooLarge(file, int64(len(data)))}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, at(1, "file is empty; it must define a pipeline with at least one job")
		}
		return nil, ErrorList{syntaxError(file, err)}
	}
	var errs ErrorList
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		errs = at(max(next.Line, 1), "file holds more than one YAML document; put each pipeline in its own file under .lathe/")
	case !errors.Is(err, io.EOF):
		errs = ErrorList{syntaxError(file, err)}
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, append(errs, at(max(doc.Line, 1), "file is empty; it must define a pipeline with at least one job")...)
	}
	return doc.Content[0], errs
}

// parserProblems are the YAML library's parser (not scanner) errors. For
// these the library reports a 0-based line, for scanner errors a 1-based one.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// syntaxError turns a YAML library error into an Error, keeping its line when
// it gives one. The library never reports a column, so the column is 1.
func syntaxError(file string, err error) *Error {
	msg := err.Error()
	line := 1
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		msg = m[2]
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n > 0 {
			line = n
			if parserProblems[msg] {
				line++
			}
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return &Error{File: file, Line: line, Column: 1, Message: "not valid YAML: " + msg}
}
